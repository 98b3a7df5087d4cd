// Runs the C load generator (bench/c/loadgen.c) and parses its JSON line.
import { execFile } from 'node:child_process';

export interface LoadResult {
  mode: string;
  iterations: number;
  errors: number;
  seconds: number;
  medianNs: number;
  p99Ns: number;
}

export interface LoadOptions {
  cgroup?: string;
  rate?: number;
  lat?: boolean;
  target?: string;
  timeoutMs?: number;
}

export function loadgen(
  bin: string,
  mode: string,
  iterations: number,
  o: LoadOptions = {},
): Promise<LoadResult> {
  const args = [mode, String(iterations)];
  if (o.cgroup) args.push('--cgroup', o.cgroup);
  if (o.rate) args.push('--rate', String(o.rate));
  if (o.lat) args.push('--lat');
  if (o.target) args.push('--target', o.target);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: o.timeoutMs ?? 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`loadgen ${args.join(' ')}: ${err.message} ${stderr}`));
      try {
        resolve(JSON.parse(String(stdout).trim()) as LoadResult);
      } catch {
        reject(new Error(`loadgen ${args.join(' ')}: unexpected output ${stdout}`));
      }
    });
  });
}
