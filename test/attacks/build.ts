// Builds the attacker programs (test/attacks/*.c) with the host's `cc` into
// .cache/attacks/, once per source change. Safe to call from several test
// files or processes at once: each binary is written under a temporary name
// and renamed into place. See test/attacks/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ATTACKS_SRC = `${ROOT}test/attacks`;
export const ATTACKS_DIR = `${ROOT}.cache/attacks`;

export const ATTACK_PROGRAMS = ['attack', 'marker'] as const;
export type AttackProgram = (typeof ATTACK_PROGRAMS)[number];

/** Compile the attacker programs that are missing or older than their source; returns name → absolute path. */
export function buildAttacks(): Record<AttackProgram, string> {
  mkdirSync(ATTACKS_DIR, { recursive: true });
  const out = {} as Record<AttackProgram, string>;
  for (const name of ATTACK_PROGRAMS) {
    const src = `${ATTACKS_SRC}/${name}.c`;
    const bin = `${ATTACKS_DIR}/${name}`;
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      const tmp = `${bin}.${process.pid}.tmp`;
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src], { stdio: 'inherit' });
      renameSync(tmp, bin);
    }
    out[name] = bin;
  }
  return out;
}
