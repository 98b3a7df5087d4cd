// The adversarial cases on Debian's 6.1 kernel booted without bpf in lsm=
// (BPF-LSM built but not active: the fmod_ret rung), under QEMU
// (test/support/adversarial-guest.ts):
//   npx vitest run --project kernel test/vm/adversarial-fmod-ret.test.ts
import { guestAdversarialSuite } from '../support/adversarial-guest.ts';
import { LSM_WITHOUT_BPF } from '../support/guest.ts';

guestAdversarialSuite('fmod', 'BPF-LSM built but not active (fmod_ret)', LSM_WITHOUT_BPF);
