// The adversarial cases on Debian's 6.1 kernel with BPF-LSM, under QEMU
// (test/support/adversarial-guest.ts), and in the same guest and daemons the
// fail-closed suite (test/support/failclosed-part.ts):
//   npx vitest run --project kernel test/vm/adversarial.test.ts
import { guestAdversarialSuite } from '../support/adversarial-guest.ts';
import { failClosedPart } from '../support/failclosed-part.ts';

guestAdversarialSuite('lsm', 'BPF-LSM kernel', undefined, [failClosedPart('lsm', 'Debian 6.1 with BPF-LSM')]);
