// bpfgate's version: the one in package.json, read once (the package ships it).
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function bpfgateVersion(): string {
  if (cached === null) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    cached = pkg.version ?? 'unknown';
  }
  return cached;
}
