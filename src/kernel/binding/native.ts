// The raw interface of native/build/Release/bpfgate.node and its loader.
// Only src/kernel/binding/*.ts use it; everything else goes through the typed
// classes re-exported by src/kernel/binding.ts.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeBindingError } from './errors.ts';

/** An opaque handle made by the addon (a tagged napi external). */
export interface Handle {
  readonly __handle: unique symbol;
}

export interface NativeProgramDesc {
  name: string;
  section: string;
  type: number;
  typeName: string | null;
  attachType: number;
  attachTypeName: string | null;
  autoload: boolean;
  fd: number;
}

export interface NativeMapDesc {
  name: string;
  type: number;
  typeName: string | null;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  internal: boolean;
  fd: number;
  pinPath: string | null;
}

export interface NativeMapInfo {
  id: number;
  type: number;
  typeName: string | null;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface NativeLinkInfo {
  id: number;
  type: number;
  typeName: string | null;
  progId: number;
}

export interface NativeBatchResult {
  count: number;
  batched: boolean;
}

export interface NativeDump extends NativeBatchResult {
  keys: Buffer;
  values: Buffer;
}

/** stopped: a poll error stopped the watcher (ringResume starts it again) */
export type NativeRingCallback = (
  err: Error | null,
  data: Buffer | null,
  ends: Uint32Array | null,
  stopped: boolean,
) => void;

export interface NativeAddon {
  libbpfVersion(): string;
  typeNames(): {
    progTypes: string[];
    mapTypes: string[];
    attachTypes: string[];
    linkTypes: string[];
    helpers: string[];
  };
  probeProgType(type: number): boolean;
  probeMapType(type: number): boolean;
  probeHelper(progType: number, helper: number): boolean;
  btfFunctions(names: string[]): boolean[];
  lastLog(): string;
  setDebugLog(on: boolean): void;
  numPossibleCpus(): number;

  objectOpen(path: string, pinRoot: string | null): Handle;
  objectClose(h: Handle): void;
  objectLoad(h: Handle): void;
  objectPrograms(h: Handle): NativeProgramDesc[];
  objectMaps(h: Handle): NativeMapDesc[];
  programSetAutoload(h: Handle, name: string, on: boolean): void;
  programFd(h: Handle, name: string): number;
  mapFd(h: Handle, name: string): number;
  mapSetInitialValue(h: Handle, name: string, data: Uint8Array): void;
  setGlobal(h: Handle, section: string, variable: string, data: Uint8Array): void;
  mapSetPinPath(h: Handle, name: string, path: string | null): void;
  mapReuseFd(h: Handle, name: string, fd: number): void;
  mapSetMaxEntries(h: Handle, name: string, n: number): void;

  attachAuto(h: Handle, prog: string): Handle;
  attachLsm(h: Handle, prog: string): Handle;
  attachTrace(h: Handle, prog: string): Handle;
  attachRawTracepoint(h: Handle, prog: string, event: string): Handle;
  attachTracepoint(h: Handle, prog: string, category: string, name: string): Handle;
  attachKprobe(h: Handle, prog: string, fn: string, cookie: bigint | number, retprobe: boolean): Handle;
  attachUprobe(
    h: Handle,
    prog: string,
    binary: string,
    offset: number,
    cookie: bigint | number,
    retprobe: boolean,
  ): Handle;
  attachCgroup(h: Handle, prog: string, cgroupDir: string): Handle;
  attachTcx(h: Handle, prog: string, ifindex: number, egress: boolean): Handle;
  attachXdp(h: Handle, prog: string, ifindex: number, flags: number): Handle;
  ifIndex(name: string): number;
  linkDestroy(l: Handle): void;
  linkDetach(l: Handle): void;
  linkPin(l: Handle, path: string): void;
  linkUnpin(l: Handle): void;
  linkFd(l: Handle): number;
  linkOpenPinned(path: string): Handle;
  linkUpdateProgram(l: Handle, progFd: number): void;
  linkInfo(l: Handle): NativeLinkInfo;
  objGet(path: string): Handle;
  fdValue(h: Handle): number;
  fdClose(h: Handle): void;
  objPin(fd: number, path: string): void;
  unpin(path: string): void;

  mapInfo(fd: number): NativeMapInfo;
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapLookup(fd: number, key: Uint8Array, valueSize: number): Buffer | null;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapNextKey(fd: number, key: Uint8Array | null, keySize: number): Buffer | null;
  mapKeys(fd: number, keySize: number, maxEntries: number): Buffer;
  mapUpdateBatch(
    fd: number,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    flags: number,
  ): NativeBatchResult;
  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): NativeBatchResult;
  mapLookupAll(fd: number, keySize: number, valueSize: number, maxEntries: number): NativeDump;

  ringOpen(mapFd: number, cb: NativeRingCallback, maxBatch: number): Handle;
  ringClose(h: Handle): void;
  ringConsume(h: Handle): { data: Buffer; ends: Uint32Array };
  ringRef(h: Handle, on: boolean): void;
  ringStats(h: Handle): { delivered: number; lost: number; stopped: boolean };
  ringResume(h: Handle): void;
  /** what a wake-up does, now: a batch through the open callback (nothing while stopped or inside it) */
  ringPoke(h: Handle): void;
  /** give the C heap's free pages back to the system (glibc malloc_trim); true when some were */
  trimMemory(): boolean;
  /** whether the file (a read-only descriptor) is open for writing anywhere now: 0 no, 1 yes, -errno cannot tell */
  openForWrite(fd: number): number;
  /** tests only: force a reading failure (native/src/ringbuf.c); nothing in bpfgate calls it */
  ringFault(kind: 'alloc' | 'copy' | 'poll' | 'clear', n: number): void;
}

/** Where `npm run build:native` puts the addon. */
export const DEFAULT_ADDON_PATH = fileURLToPath(
  new URL('../../../native/build/Release/bpfgate.node', import.meta.url),
);

let addon: NativeAddon | undefined;

/** The addon, loaded on first use (so importing the adapter never needs it). */
export function native(): NativeAddon {
  if (!addon) addon = loadAddon(DEFAULT_ADDON_PATH);
  return addon;
}

/** Load the addon from a given path (also used to pick another build). */
export function loadAddon(path: string): NativeAddon {
  try {
    const mod = createRequire(import.meta.url)(path) as NativeAddon;
    addon = mod;
    return mod;
  } catch (err) {
    throw new NativeBindingError(path, err);
  }
}

/**
 * Whether the file open read-only as `fd` is open for writing anywhere on the
 * system now: 'no', 'yes', or 'unknown' (a file system without leases). An
 * addon without the call (an older build) cannot tell.
 */
export function openForWrite(fd: number): 'no' | 'yes' | 'unknown' {
  const a = native();
  if (typeof a.openForWrite !== 'function') return 'unknown';
  const r = a.openForWrite(fd);
  return r === 0 ? 'no' : r === 1 ? 'yes' : 'unknown';
}

/** The C heap's free pages given back to the system (glibc's malloc_trim); true when some were. */
export function trimCHeap(): boolean {
  return native().trimMemory();
}
