// Small statistics and result-file helpers shared by the benchmarks.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../machine.ts';

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function ratio(a: number, b: number): number {
  return round(a / b, 2);
}

/**
 * The checkout's commit (short), with "+changes" when its tracked files
 * differ from it (results files aside: each benchmark writes its own, and the
 * test suite its own); null outside git.
 */
export function commitOf(): string | null {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync(
      'git',
      [
        '-C',
        root,
        'status',
        '--porcelain',
        '--untracked-files=no',
        '--',
        '.',
        ':(exclude)bench/results',
        ':(exclude)test/vm/results',
      ],
      { encoding: 'utf8' },
    ).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return null;
  }
}

/** bench/results/<name>.json with the machine it ran on, the commit and the conditions noted. */
export function writeResult(name: string, body: Record<string, unknown>): string {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  const report = {
    benchmark: name,
    date: new Date().toISOString(),
    commit: commitOf(),
    machine: machineInfo(),
    ...body,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  // keep results in the repository's format (npx biome check bench)
  const biome = fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url));
  if (existsSync(biome)) {
    try {
      execFileSync(biome, ['format', '--write', file.pathname], { stdio: 'ignore' });
    } catch {
      // formatting is cosmetic
    }
  }
  return file.pathname;
}

export function loadAverage(): number[] {
  return loadavg().map((x) => round(x, 2));
}
