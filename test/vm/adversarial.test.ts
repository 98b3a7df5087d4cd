// The adversarial cases on Debian's 6.1 kernel with BPF-LSM, under QEMU
// (test/support/adversarial-guest.ts):
//   npx vitest run --project kernel test/vm/adversarial.test.ts
import { guestAdversarialSuite } from '../support/adversarial-guest.ts';

guestAdversarialSuite('lsm', 'BPF-LSM kernel');
