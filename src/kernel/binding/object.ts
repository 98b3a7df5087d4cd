// A BPF object file (.bpf.o) opened with libbpf: adjust it, load it, reach its
// maps and attach its programs.
//
//   const obj = BpfObject.open('bpf/build/bpfgate.bpf.o');
//   obj.loadOnly(['bg_cg_sock_create', 'bg_tp_exec']);   // autoload: only these
//   obj.setGlobal('bg_cfg_daemon_tgid', u32(process.pid));
//   obj.load();
//   const link = obj.attach('bg_cg_sock_create', spec, { cgroup: '/sys/fs/cgroup/unified/x' });
import type { AttachSpec } from '../../abi/plan.ts';
import { uprobeCookie } from '../../abi/programs.ts';
import { BpfgateError } from '../../errors.ts';
import { binaryInode, withUprobeTarget } from '../elf.ts';
import { call, closedError } from './errors.ts';
import { BpfLink } from './link.ts';
import { BpfMap } from './map.ts';
import { type Handle, type NativeMapDesc, type NativeProgramDesc, native } from './native.ts';

export type ProgramDesc = NativeProgramDesc;
export type MapDesc = NativeMapDesc;

export interface OpenOptions {
  /** bpffs directory for maps declared with LIBBPF_PIN_BY_NAME (libbpf's pin_root_path) */
  pinRoot?: string;
}

export interface AttachOptions {
  /** cgroup v2 directory, for cgroup attach specs */
  cgroup?: string;
}

export interface KprobeOptions {
  /** read by the program with bpf_get_attach_cookie() */
  cookie?: number | bigint;
  retprobe?: boolean;
}

/** An AttachSpec that does not fit the program (a plan/program table bug). */
export class AttachSpecError extends BpfgateError {
  constructor(message: string) {
    super('ATTACH_SPEC_MISMATCH', message);
  }
}

/** An interface a plan names that this network namespace does not have. */
export class NoSuchInterfaceError extends BpfgateError {
  constructor(ifname: string) {
    super('NO_SUCH_INTERFACE', `interface ${ifname} does not exist in the daemon's network namespace`);
  }
}

/** XDP link flags: XDP_FLAGS_SKB_MODE (generic), XDP_FLAGS_DRV_MODE (native), none (auto). */
const XDP_FLAGS = { auto: 0, generic: 2, native: 4 } as const;

/** The index of an interface of this process's network namespace (0: none). */
export function ifIndex(ifname: string): number {
  return native().ifIndex(ifname);
}

function interfaceIndex(ifname: string): number {
  const i = ifIndex(ifname);
  if (!i) throw new NoSuchInterfaceError(ifname);
  return i;
}

export class BpfObject {
  readonly path: string;
  #h: Handle | null;
  #loaded = false;
  readonly #maps = new Map<string, BpfMap>();

  private constructor(path: string, h: Handle) {
    this.path = path;
    this.#h = h;
  }

  /** Open (parse) an object file; nothing reaches the kernel until load(). */
  static open(path: string, options: OpenOptions = {}): BpfObject {
    return new BpfObject(
      path,
      call(() => native().objectOpen(path, options.pinRoot ?? null)),
    );
  }

  get closed(): boolean {
    return this.#h === null;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  programs(): ProgramDesc[] {
    const h = this.#handle('programs');
    return call(() => native().objectPrograms(h));
  }

  /** Every map of the object, including the global-data sections (internal: true). */
  maps(): MapDesc[] {
    const h = this.#handle('maps');
    return call(() => native().objectMaps(h));
  }

  setAutoload(program: string, on: boolean): void {
    const h = this.#handle('set_autoload');
    call(() => native().programSetAutoload(h, program, on));
  }

  /** Load exactly these programs (autoload on for them, off for every other); unknown names fail BPF_NOT_FOUND. */
  loadOnly(programs: Iterable<string>): void {
    const want = new Set(programs);
    const known = new Set(this.programs().map((p) => p.name));
    for (const name of want) if (!known.has(name)) this.setAutoload(name, true); // throws BPF_NOT_FOUND
    for (const name of known) this.setAutoload(name, want.has(name));
  }

  /** Before load: set one global variable (a `const volatile` tunable in .rodata by default). */
  setGlobal(variable: string, value: Uint8Array, section = '.rodata'): void {
    const h = this.#handle('set_global');
    call(() => native().setGlobal(h, section, variable, value));
  }

  /** Before load: the whole initial content of a map (e.g. ".rodata"). */
  setInitialValue(map: string, data: Uint8Array): void {
    const h = this.#handle('set_initial_value');
    call(() => native().mapSetInitialValue(h, map, data));
  }

  /** Before load: adopt the map pinned at path if there is one (and compatible), else create it and pin it there. */
  setPinPath(map: string, path: string | null): void {
    const h = this.#handle('set_pin_path');
    call(() => native().mapSetPinPath(h, map, path));
  }

  /** Before load: use an existing map (e.g. BpfMap.openPinned) instead of creating one. */
  reuseMap(map: string, existing: BpfMap): void {
    const h = this.#handle('reuse_fd');
    const fd = existing.fd;
    call(() => native().mapReuseFd(h, map, fd));
  }

  /** Before load. */
  setMaxEntries(map: string, n: number): void {
    const h = this.#handle('set_max_entries');
    call(() => native().mapSetMaxEntries(h, map, n));
  }

  /** Create the maps and load the programs with autoload on. Fails with BPF_LOAD_FAILED or KERNEL_EPERM. */
  load(): void {
    const h = this.#handle('load');
    call(() => native().objectLoad(h));
    this.#loaded = true;
  }

  /** A map of the loaded object (its fd belongs to the object). */
  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (!m || m.closed) {
      const h = this.#handle('map_fd');
      const fd = call(() => native().mapFd(h, name));
      m = new BpfMap(fd, this, null, name);
      this.#maps.set(name, m);
    }
    return m;
  }

  /** The fd of a loaded program (owned by the object): for pins and link updates. */
  programFd(program: string): number {
    const h = this.#handle('program_fd');
    return call(() => native().programFd(h, program));
  }

  /**
   * Attach as the plan says. The program's SEC() name must agree with the spec
   * (lsm/<hook>, tp_btf/<event>, the cgroup attach type), else AttachSpecError;
   * cgroup specs need options.cgroup.
   */
  attach(program: string, spec: AttachSpec, options: AttachOptions = {}): BpfLink {
    const p = this.programs().find((d) => d.name === program);
    const mismatch = (want: string, have: string | null | undefined) =>
      new AttachSpecError(`${program}: the plan says ${want}, the program is ${have ?? 'unknown'}`);
    switch (spec.type) {
      case 'lsm':
        if (p && p.section.replace(/^lsm(\.s)?\//, '') !== spec.hook)
          throw mismatch(`lsm/${spec.hook}`, p.section);
        return this.attachLsm(program);
      case 'cgroup':
        if (!options.cgroup)
          throw new AttachSpecError(`${program}: a cgroup attach needs a cgroup directory`);
        if (p && p.attachTypeName !== spec.attachType) throw mismatch(spec.attachType, p.attachTypeName);
        return this.attachCgroup(program, options.cgroup);
      case 'fmod_ret':
        if (p && p.section !== `fmod_ret/${spec.function}`)
          throw mismatch(`fmod_ret/${spec.function}`, p.section);
        return this.attachTrace(program);
      case 'tp_btf':
        if (p && p.section !== `tp_btf/${spec.event}`) throw mismatch(`tp_btf/${spec.event}`, p.section);
        return this.attachTrace(program);
      case 'raw_tracepoint':
        return this.attachRawTracepoint(program, spec.event);
      case 'kprobe':
        return this.attachKprobe(program, spec.function, { cookie: spec.cookie });
      case 'tcx':
        return this.attachTcx(program, spec.ifname, spec.direction);
      case 'xdp':
        return this.attachXdp(program, spec.ifname, spec.mode);
      case 'uprobe':
        // the symbol resolved, the digest checked and the probe attached on one open file
        return withUprobeTarget(spec.binary, spec.symbol, spec.sha256, (id, path) => {
          const link = this.attachUprobe(program, path, id.offset, {
            cookie: uprobeCookie(spec),
            retprobe: spec.retprobe,
          });
          link.inode = binaryInode(id);
          return link;
        });
    }
  }

  /** A tcx link on an interface of this process's network namespace (Linux 6.6). */
  attachTcx(program: string, ifname: string, direction: 'ingress' | 'egress'): BpfLink {
    const ifindex = interfaceIndex(ifname);
    return this.#attach(`${program} -> tcx/${direction}/${ifname}`, (h) =>
      native().attachTcx(h, program, ifindex, direction === 'egress'),
    );
  }

  /** An XDP link: auto lets the kernel take the driver's mode when it has one. */
  attachXdp(program: string, ifname: string, mode: 'auto' | 'native' | 'generic'): BpfLink {
    const ifindex = interfaceIndex(ifname);
    return this.#attach(`${program} -> xdp/${ifname} (${mode})`, (h) =>
      native().attachXdp(h, program, ifindex, XDP_FLAGS[mode]),
    );
  }

  /** As the SEC() name says (libbpf's bpf_program__attach). */
  attachAuto(program: string): BpfLink {
    return this.#attach(program, (h) => native().attachAuto(h, program));
  }

  attachLsm(program: string): BpfLink {
    return this.#attach(`${program} (lsm)`, (h) => native().attachLsm(h, program));
  }

  /** tp_btf, fentry, fexit, fmod_ret */
  attachTrace(program: string): BpfLink {
    return this.#attach(`${program} (trace)`, (h) => native().attachTrace(h, program));
  }

  attachRawTracepoint(program: string, event: string): BpfLink {
    return this.#attach(`${program} -> raw_tp/${event}`, (h) =>
      native().attachRawTracepoint(h, program, event),
    );
  }

  attachTracepoint(program: string, category: string, name: string): BpfLink {
    return this.#attach(`${program} -> tp/${category}/${name}`, (h) =>
      native().attachTracepoint(h, program, category, name),
    );
  }

  attachKprobe(program: string, fn: string, options: KprobeOptions = {}): BpfLink {
    return this.#attach(`${program} -> kprobe/${fn}`, (h) =>
      native().attachKprobe(h, program, fn, options.cookie ?? 0, options.retprobe ?? false),
    );
  }

  /** A uprobe (or uretprobe) at a file offset of a binary, in every process that maps its inode. */
  attachUprobe(program: string, binary: string, offset: number, options: KprobeOptions = {}): BpfLink {
    return this.#attach(`${program} -> uprobe/${binary}+0x${offset.toString(16)}`, (h) =>
      native().attachUprobe(h, program, binary, offset, options.cookie ?? 0, options.retprobe ?? false),
    );
  }

  /** The attach type comes from the program's SEC() name. */
  attachCgroup(program: string, cgroupDir: string): BpfLink {
    return this.#attach(`${program} -> ${cgroupDir}`, (h) => native().attachCgroup(h, program, cgroupDir));
  }

  /** Close: maps and programs not held by a link or a pin go away. Idempotent. */
  close(): void {
    if (!this.#h) return;
    const h = this.#h;
    this.#h = null;
    this.#maps.clear();
    native().objectClose(h);
  }

  #attach(description: string, fn: (h: Handle) => Handle): BpfLink {
    const h = this.#handle('attach');
    return new BpfLink(
      call(() => fn(h)),
      description,
    );
  }

  #handle(op: string): Handle {
    if (!this.#h) throw closedError(op, `object ${this.path}`);
    return this.#h;
  }
}
