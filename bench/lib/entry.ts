// A bench that also runs inside the emulated guest: `node bench/X.ts` runs its
// host side (which boots the guest), `node bench/X.ts --inner` its guest side;
// either way everything registered for cleanup is undone when it ends.
import { cleanup } from './cleanup.ts';

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
