// The kernel suite on this project's host (6.18: no BPF-LSM, no fmod_ret),
// every policy scoped to a cgroup the run creates:
// the rule-kind attacks (enforcing and --audit), the attacks against the
// starter policies, doctor's probe and matrix, the starter plan; its results
// go to test/vm/results/host.json (test/support/kernel-suite/).
//   npx vitest run --project kernel test/vm/kernel-host.test.ts
import { kernelSuite } from '../support/kernel-suite/checks.ts';

kernelSuite('host');
