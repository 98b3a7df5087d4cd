// The attacker programs (test/attacks/*.c), built with the host's `cc` into
// .cache/attacks/ once per source change (test/support/build.ts). See
// test/attacks/README.md.
import { compileC } from './build.ts';
import { CACHE, ROOT } from './paths.ts';

export const ATTACKS_SRC = `${ROOT}test/attacks`;
export const ATTACKS_DIR = `${CACHE}/attacks`;

export const ATTACK_PROGRAMS = ['attack', 'marker', 'execattack'] as const;
export type AttackProgram = (typeof ATTACK_PROGRAMS)[number];

/**
 * attack.c linked statically: a program that runs in a chroot holding
 * nothing else (the adversarial case exe-chroot-same-name puts it there).
 */
export const ATTACK_STATIC = `${ATTACKS_DIR}/attack-static`;

/** Compile the attacker programs that are missing or older than their source; returns name → absolute path. */
export function buildAttacks(): Record<AttackProgram, string> {
  const out = {} as Record<AttackProgram, string>;
  for (const name of ATTACK_PROGRAMS)
    out[name] = compileC(`${ATTACKS_SRC}/${name}.c`, `${ATTACKS_DIR}/${name}`);
  compileC(`${ATTACKS_SRC}/attack.c`, ATTACK_STATIC, ['-static']);
  return out;
}
