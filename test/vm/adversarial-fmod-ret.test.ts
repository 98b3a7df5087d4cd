// The adversarial cases on Debian's 6.1 kernel booted without bpf in lsm=
// (BPF-LSM built but not active: the fmod_ret rung), under QEMU
// (test/support/adversarial-guest.ts), and in the same guest and daemons the
// fail-closed suite (test/support/failclosed-part.ts):
//   npx vitest run --project kernel test/vm/adversarial-fmod-ret.test.ts
import { guestAdversarialSuite } from '../support/adversarial-guest.ts';
import { failClosedPart } from '../support/failclosed-part.ts';
import { LSM_WITHOUT_BPF } from '../support/guest.ts';

guestAdversarialSuite('fmod', 'BPF-LSM built but not active (fmod_ret)', LSM_WITHOUT_BPF, [
  failClosedPart('fmod_ret', 'Debian 6.1 with fmod_ret (bpf not in lsm=)'),
]);
