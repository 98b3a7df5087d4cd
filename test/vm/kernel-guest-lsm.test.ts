// The kernel suite on Debian's 6.1 under QEMU, BPF-LSM active:
// the rule-kind attacks (enforcing and --audit), the attacks against the
// starter policies, doctor's probe and matrix, the starter plan; its results
// go to test/vm/results/guest-lsm.json (test/support/kernel-suite/).
//   npx vitest run --project kernel test/vm/kernel-guest-lsm.test.ts
import { kernelSuite } from '../support/kernel-suite/checks.ts';

kernelSuite('guest-lsm');
