// Self-protection on Debian's 6.1 kernel under QEMU booted without bpf in
// lsm= (BPF-LSM built but not active): the same attacks refused by the
// fmod_ret programs on the security_* functions (one boot; the scenario:
// test/support/protect-scenario.ts):
//   npx vitest run --project kernel test/vm/protect-fmod-ret.test.ts
import { protectSuite } from '../support/protect-scenario.ts';

protectSuite('fmod_ret');
