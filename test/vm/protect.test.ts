// Self-protection on Debian's 6.1 kernel under QEMU with BPF-LSM active (one
// boot; the scenario: test/support/protect-scenario.ts):
//   npx vitest run --project kernel test/vm/protect.test.ts
import { protectSuite } from '../support/protect-scenario.ts';

protectSuite('lsm');
