// Feature probes for `bpfgate doctor`, libbpf's version, and the bpffs check.
import { statfsSync } from 'node:fs';
import { call, EINVAL, KernelError } from './errors.ts';
import { native } from './native.ts';

const BPF_FS_MAGIC = 0xcafe4a11;

/** e.g. "1.1" */
export function libbpfVersion(): string {
  return native().libbpfVersion();
}

export function numPossibleCpus(): number {
  return call(() => native().numPossibleCpus());
}

let names: ReturnType<ReturnType<typeof native>['typeNames']> | undefined;
function typeNames() {
  if (!names) names = native().typeNames();
  return names;
}

function indexOf(list: string[], name: string | number, what: string): number {
  if (typeof name === 'number') return name;
  const i = list.indexOf(name);
  if (i < 0) throw new KernelError('probe', EINVAL, `unknown ${what}: ${name}`);
  return i;
}

/** Program type by libbpf's name ("lsm", "cgroup_sock", "tracing", "kprobe", ...) or number. */
export function probeProgType(type: string | number): boolean {
  const t = indexOf(typeNames().progTypes, type, 'program type');
  return call(() => native().probeProgType(t));
}

/** Map type by libbpf's name ("ringbuf", "lpm_trie", ...) or number. */
export function probeMapType(type: string | number): boolean {
  const t = indexOf(typeNames().mapTypes, type, 'map type');
  return call(() => native().probeMapType(t));
}

/** Can programs of this type call the helper ("send_signal", "d_path", ... or its id)? */
export function probeHelper(progType: string | number, helper: string | number): boolean {
  const t = indexOf(typeNames().progTypes, progType, 'program type');
  const h = indexOf(typeNames().helpers, helper, 'helper');
  return call(() => native().probeHelper(t, h));
}

/** Which of `names` are functions in the running kernel's BTF (attachable by fentry and fmod_ret programs). */
export function btfFunctions(names: readonly string[]): boolean[] {
  return call(() => native().btfFunctions([...names]));
}

/** Is path on a mounted bpf filesystem? (Mounting it is the caller's job: mount -t bpf bpf /sys/fs/bpf.) */
export function isBpffs(path = '/sys/fs/bpf'): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** What libbpf printed during the last addon call (warnings also appear on success). */
export function lastLibbpfLog(): string {
  return native().lastLog();
}

/** Also capture libbpf's debug output in errors and lastLibbpfLog(). */
export function setLibbpfDebug(on: boolean): void {
  native().setDebugLog(on);
}
