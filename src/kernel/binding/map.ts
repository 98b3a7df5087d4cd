// A BPF map, by fd: from a loaded BpfObject (the object owns the fd) or
// opened from a pin in bpffs (the map owns its fd and closes it).
import { call, closedError, EINVAL, KernelError } from './errors.ts';
import { type Handle, native } from './native.ts';

/** Element update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST). */
export const UpdateFlag = { any: 0, noexist: 1, exist: 2 } as const;
export type UpdateFlagName = keyof typeof UpdateFlag;

/** libbpf's names of the per-CPU map types (values are one slot per possible CPU). */
const PERCPU_TYPES = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);

export interface MapInfo {
  name: string;
  /** kernel map id (0 before load) */
  id: number;
  type: number;
  /** libbpf's name of the type, e.g. "hash", "lpm_trie", "ringbuf" */
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** Whatever keeps the fd valid (a BpfObject); checked before every call. */
export interface FdOwner {
  readonly closed: boolean;
}

export interface BatchResult {
  count: number;
  /** false when the kernel has no batch operation for this map type and each element went alone */
  batched: boolean;
}

export class BpfMap {
  readonly name: string;
  readonly info: MapInfo;
  /** per-CPU map: values are `valueSize` rounded up to 8, times `cpus` */
  readonly percpu: boolean;
  readonly cpus: number;
  /** bytes of a value as lookup() returns and update() takes it */
  readonly valueBytes: number;
  readonly #fd: number;
  readonly #owner: FdOwner | null;
  readonly #fdHandle: Handle | null;
  #closed = false;

  /** Use BpfObject.map() or BpfMap.openPinned(). */
  constructor(fd: number, owner: FdOwner | null, fdHandle: Handle | null = null, name?: string) {
    const raw = call(() => native().mapInfo(fd));
    // the kernel keeps 15 characters of a name; the object knows the whole one
    if (name) raw.name = name;
    this.#fd = fd;
    this.#owner = owner;
    this.#fdHandle = fdHandle;
    this.name = raw.name;
    this.info = { ...raw, typeName: raw.typeName ?? `type${raw.type}` };
    this.percpu = PERCPU_TYPES.has(this.info.typeName);
    this.cpus = this.percpu ? call(() => native().numPossibleCpus()) : 1;
    this.valueBytes = this.percpu ? roundUp8(raw.valueSize) * this.cpus : raw.valueSize;
  }

  /** Adopt a map pinned in bpffs (e.g. by a previous daemon). */
  static openPinned(path: string): BpfMap {
    const h = call(() => native().objGet(path));
    try {
      return new BpfMap(native().fdValue(h), null, h);
    } catch (e) {
      native().fdClose(h);
      throw e;
    }
  }

  get fd(): number {
    if (this.#closed || this.#owner?.closed) throw closedError('map', `map ${this.name}`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed || (this.#owner?.closed ?? false);
  }

  /** The value for key, or null when absent. Per-CPU maps: all CPUs' slots, see lookupPercpu. */
  lookup(key: Uint8Array): Buffer | null {
    this.#checkKey(key);
    const fd = this.fd;
    return call(() => native().mapLookup(fd, key, this.valueBytes));
  }

  /** Per-CPU maps: one value per possible CPU (each `valueSize` bytes). */
  lookupPercpu(key: Uint8Array): Buffer[] | null {
    const all = this.lookup(key);
    if (!all) return null;
    return splitPercpu(all, this.info.valueSize, this.cpus);
  }

  update(key: Uint8Array, value: Uint8Array, flag: UpdateFlagName = 'any'): void {
    this.#checkKey(key);
    this.#checkValue(value);
    const fd = this.fd;
    call(() => native().mapUpdate(fd, key, value, UpdateFlag[flag]));
  }

  /** true if the key was there */
  delete(key: Uint8Array): boolean {
    this.#checkKey(key);
    const fd = this.fd;
    return call(() => native().mapDelete(fd, key));
  }

  /** The key after `key` (the first key for null), null at the end. */
  nextKey(key: Uint8Array | null): Buffer | null {
    if (key) this.#checkKey(key);
    const fd = this.fd;
    return call(() => native().mapNextKey(fd, key, this.info.keySize));
  }

  /** Every key (one pass of get-next-key in the addon). */
  keys(): Buffer[] {
    const fd = this.fd;
    const all = call(() => native().mapKeys(fd, this.info.keySize, this.info.maxEntries));
    return split(all, this.info.keySize);
  }

  /** Every element, batched where the kernel allows. */
  entries(): { keys: Buffer[]; values: Buffer[]; batched: boolean } {
    const fd = this.fd;
    const d = call(() => native().mapLookupAll(fd, this.info.keySize, this.valueBytes, this.info.maxEntries));
    return {
      keys: split(d.keys, this.info.keySize),
      values: split(d.values, this.valueBytes),
      batched: d.batched,
    };
  }

  /** Update many elements in one call (bpf_map_update_batch), element by element where the map refuses. */
  updateBatch(
    entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>,
    flag: UpdateFlagName = 'any',
  ): BatchResult {
    if (entries.length === 0) return { count: 0, batched: false };
    const keys = Buffer.allocUnsafe(entries.length * this.info.keySize);
    const values = Buffer.allocUnsafe(entries.length * this.valueBytes);
    entries.forEach(([k, v], i) => {
      this.#checkKey(k);
      this.#checkValue(v);
      keys.set(k, i * this.info.keySize);
      values.set(v, i * this.valueBytes);
    });
    const fd = this.fd;
    return call(() => native().mapUpdateBatch(fd, keys, values, entries.length, UpdateFlag[flag]));
  }

  /** Delete many keys in one call; an absent key fails with KERNEL_ENOENT (after `count` deletions). */
  deleteBatch(keys: ReadonlyArray<Uint8Array>): BatchResult {
    if (keys.length === 0) return { count: 0, batched: false };
    const buf = Buffer.allocUnsafe(keys.length * this.info.keySize);
    keys.forEach((k, i) => {
      this.#checkKey(k);
      buf.set(k, i * this.info.keySize);
    });
    const fd = this.fd;
    return call(() => native().mapDeleteBatch(fd, buf, keys.length));
  }

  /** Pin in bpffs (the directory must exist on a bpf filesystem). */
  pin(path: string): void {
    const fd = this.fd;
    call(() => native().objPin(fd, path));
  }

  /** Close a map opened from a pin. A map of an object closes with its object. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fdHandle) native().fdClose(this.#fdHandle);
  }

  #checkKey(key: Uint8Array): void {
    if (key.byteLength !== this.info.keySize)
      throw new KernelError(
        'map_key',
        EINVAL,
        `map ${this.name}: key is ${key.byteLength} bytes, expected ${this.info.keySize}`,
      );
  }

  #checkValue(value: Uint8Array): void {
    if (value.byteLength !== this.valueBytes)
      throw new KernelError(
        'map_value',
        EINVAL,
        `map ${this.name}: value is ${value.byteLength} bytes, expected ${this.valueBytes}`,
      );
  }
}

/** Remove a pin (map, program or link) from bpffs. */
export function unpin(path: string): void {
  call(() => native().unpin(path));
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

function split(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off + size <= buf.length; off += size) out.push(buf.subarray(off, off + size));
  return out;
}

/** Split a per-CPU value into one Buffer per CPU. */
export function splitPercpu(all: Buffer, valueSize: number, cpus: number): Buffer[] {
  const stride = roundUp8(valueSize);
  const out: Buffer[] = [];
  for (let i = 0; i < cpus; i++) out.push(all.subarray(i * stride, i * stride + valueSize));
  return out;
}
