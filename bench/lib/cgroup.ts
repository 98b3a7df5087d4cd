// The bench's own cgroup v2 directory (test/support/cgroup.ts: under
// /sys/fs/cgroup/unified on the host, /sys/fs/cgroup in the guest). Only the
// bench's own load generators move into it; programs attach only to it; it is
// removed afterwards, also when the bench fails (registered for cleanup).
import { createCgroup, type TestCgroup } from '../../test/support/cgroup.ts';
import { onCleanup } from './cleanup.ts';

export function createBenchCgroup(tag: string): TestCgroup {
  const cg = createCgroup(`bpfgate-bench-${tag}-${process.pid}`);
  const remove = onCleanup(`cgroup ${cg.path}`, () => cg.remove());
  return { ...cg, remove };
}
