// Errors of the libbpf binding. The addon throws plain Errors carrying
// `errno`, `op` and `libbpfLog`; toKernelError turns them into KernelError.
import { constants } from 'node:os';
import { BpfgateError } from '../../errors.ts';

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);
}
ERRNO_NAMES.set(524, 'ENOTSUPP'); // the kernel's internal "not supported", seen by bpf() callers
ERRNO_NAMES.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP'); // rather than its alias ENOTSUP

export const EPERM = constants.errno.EPERM;
export const EACCES = constants.errno.EACCES;
export const ENOENT = constants.errno.ENOENT;
export const EBADF = constants.errno.EBADF;
export const EINVAL = constants.errno.EINVAL;

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/**
 * A libbpf or kernel call failed.
 *
 * code:
 *   KERNEL_EPERM, KERNEL_EACCES  the kernel refused the operation: missing
 *                                privilege (root, CAP_BPF, CAP_SYS_ADMIN) or a
 *                                policy such as lockdown refusing BPF-LSM.
 *                                `privilege` is true. (EACCES from a program
 *                                load is the verifier's verdict instead: BPF_LOAD_FAILED.)
 *   BPF_LOAD_FAILED              loading the object failed (verifier, BTF, ...)
 *   BPF_ATTACH_FAILED            attaching a program failed
 *   BPF_OPEN_FAILED              the object file could not be opened or parsed
 *   BPF_NOT_FOUND                no program or map of that name in the object
 *   KERNEL_<ERRNO>               anything else, e.g. KERNEL_ENOENT, KERNEL_EEXIST
 */
export class KernelError extends BpfgateError {
  /** positive errno, e.g. 1 for EPERM */
  readonly errno: number;
  readonly errnoName: string;
  /** the failing operation, e.g. "load", "attach_cgroup", "map_update" */
  readonly op: string;
  /** the tail of what libbpf printed during the call (warnings, verifier log) */
  readonly libbpfLog: string;
  /** EPERM or EACCES outside a program load: report as a privilege problem */
  readonly privilege: boolean;

  constructor(op: string, errno: number, message: string, libbpfLog = '', options?: { cause?: unknown }) {
    const name = errnoName(errno);
    const privilege = errno === EPERM || (errno === EACCES && op !== 'load');
    super(codeFor(op, errno, privilege), message, options);
    this.errno = errno;
    this.errnoName = name;
    this.op = op;
    this.libbpfLog = libbpfLog;
    this.privilege = privilege;
  }
}

function codeFor(op: string, errno: number, privilege: boolean): string {
  if (privilege) return `KERNEL_${errnoName(errno)}`;
  if (op === 'load') return 'BPF_LOAD_FAILED';
  if (op.startsWith('attach')) return 'BPF_ATTACH_FAILED';
  if (op === 'open') return 'BPF_OPEN_FAILED';
  if ((op === 'find_map' || op === 'find_program') && errno === ENOENT) return 'BPF_NOT_FOUND';
  return `KERNEL_${errnoName(errno)}`;
}

/** True for a KernelError the CLI should report as missing privilege (EPERM/EACCES). */
export function isPrivilegeError(err: unknown): err is KernelError {
  return err instanceof KernelError && err.privilege;
}

/** The addon could not be loaded (not built, or built for another ABI). */
export class NativeBindingError extends BpfgateError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super(
      'NATIVE_BINDING_UNAVAILABLE',
      `cannot load the libbpf binding ${path} (build it with: npm run build:native): ${String(cause)}`,
      { cause },
    );
    this.path = path;
  }
}

interface NativeFailure {
  message: string;
  errno: number;
  op: string;
  libbpfLog?: string;
}

function isNativeFailure(e: unknown): e is NativeFailure {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeFailure>).errno === 'number' &&
    typeof (e as Partial<NativeFailure>).op === 'string'
  );
}

/** A KernelError for an error thrown by the addon; anything else is returned as is. */
export function toKernelError(e: unknown): unknown {
  if (!isNativeFailure(e)) return e;
  return new KernelError(e.op, e.errno, e.message, e.libbpfLog ?? '', { cause: e });
}

/** Run an addon call, converting its failures. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toKernelError(e);
  }
}

/** A use of a closed object/map/link/reader: the same error shape as the kernel's EBADF. */
export function closedError(op: string, what: string): KernelError {
  return new KernelError(op, EBADF, `${op}: ${what} is closed`);
}
