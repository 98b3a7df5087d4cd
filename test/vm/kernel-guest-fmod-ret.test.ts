// The kernel suite on Debian's 6.1 under QEMU booted without bpf in lsm=
// (BPF-LSM compiled in, not active: the fmod_ret rung):
// the rule-kind attacks (enforcing and --audit), the attacks against the
// starter policies, doctor's probe and matrix, the starter plan; its results
// go to test/vm/results/guest-fmod-ret.json (test/support/kernel-suite/).
//   npx vitest run --project kernel test/vm/kernel-guest-fmod-ret.test.ts
import { kernelSuite } from '../support/kernel-suite/checks.ts';

kernelSuite('guest-fmod-ret');
