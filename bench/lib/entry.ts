// A bench that also runs inside the emulated guest: `node bench/X.ts` runs its
// host side (which boots the guest), `node bench/X.ts --inner` its guest side;
// either way everything registered for cleanup is undone when it ends.
import { cleanup } from './cleanup.ts';

/**
 * Node's flags for a bench inside the emulated guest. In the guest booted
 * without BPF-LSM, `node bench/guest.ts --inner` stopped three times in four
 * within seconds of its start: V8's check "it->second.Size() > offset"
 * (ThreadIsolation, walking the stack in Runtime_WasmTriggerTierUp: the
 * WebAssembly is Node's own TypeScript stripping), once a segmentation fault.
 * `--no-wasm-tier-up` did not prevent it; Liftoff code alone takes that call
 * out. Seen only under QEMU TCG, never in the kernel suites' guests.
 */
export const GUEST_NODE_ARGS = ['--liftoff-only'];

export async function hostOrGuest(parts: {
  inner: () => Promise<void>;
  run: () => Promise<void>;
}): Promise<void> {
  if (!process.argv.includes('--inner')) return parts.run();
  try {
    await parts.inner();
  } finally {
    await cleanup();
  }
}
