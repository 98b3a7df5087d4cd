// Why a QEMU guest could not be prepared, did not boot, or did not finish in
// time (test/support/guest.ts). A non-zero exit of the guest's command is a
// result, not one of these.
import { BpfgateError } from '../../src/errors.ts';

export type GuestErrorCode =
  | 'GUEST_BOOT_FAILED'
  | 'GUEST_TIMEOUT'
  | 'GUEST_KERNEL_MISSING'
  | 'GUEST_PREPARE_FAILED'
  | 'GUEST_QEMU_MISSING';

/** A guest that could not be prepared, did not boot, or did not finish in time. */
export class GuestBootError extends BpfgateError {
  declare readonly code: GuestErrorCode;
  /** the last lines of the serial console (kernel messages and the init's markers) */
  readonly consoleTail: string;
  /** the run's scratch folder, kept for inspection ('' when none was made) */
  readonly scratchDir: string;
  /** how far the guest got: 'prepare', 'boot' (before the command started) or 'command' */
  readonly phase: 'prepare' | 'boot' | 'command';
  constructor(
    code: GuestErrorCode,
    message: string,
    details: {
      consoleTail?: string;
      scratchDir?: string;
      phase?: 'prepare' | 'boot' | 'command';
      cause?: unknown;
    } = {},
  ) {
    const tail = details.consoleTail ?? '';
    super(code, tail ? `${message}\n--- guest console (tail) ---\n${tail}` : message, {
      cause: details.cause,
    });
    this.consoleTail = tail;
    this.scratchDir = details.scratchDir ?? '';
    this.phase = details.phase ?? 'prepare';
  }
}
