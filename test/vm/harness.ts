// QEMU guest harness for the kernel test suite: runs a shell command on
// Debian's generic 6.1 kernel (BPF-LSM active, kprobes built in) under QEMU
// (TCG), with the host's root file system shared read-only, and returns the
// command's exit code, stdout and stderr. See docs/testing-kernel.md.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BpfgateError } from '../../src/errors.ts';

const run = promisify(execFile);

/** Project root, found from this file's location (the checkout may live anywhere). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Cache of downloaded packages, unpacked kernels, initramfs images and run folders. */
export const CACHE_DIR = process.env.BPFGATE_VM_CACHE ?? path.join(PROJECT_ROOT, '.cache', 'vm');
/** Where the run's writable share appears inside the guest (an empty folder of the host root). */
export const GUEST_SHARE = '/media';
/** Files passed with `opts.files` appear under this folder in the guest. */
export const GUEST_IN = `${GUEST_SHARE}/in`;
/** Files the command writes under this folder come back in `GuestResult.outFiles`. */
export const GUEST_OUT = `${GUEST_SHARE}/out`;
/** The guest's cgroup v2 root (pure v2; the host's is /sys/fs/cgroup/unified). */
export const GUEST_CGROUP2_ROOT = '/sys/fs/cgroup';

const INIT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'init.sh');
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
/** Modules the init script loads: 9p over virtio-pci. Dependencies are added from modules.dep. */
export const BASE_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
const KERNEL_PACKAGE_RE = /^linux-image-(6\.1\.0-(\d+)-amd64)-unsigned$/;
const CONSOLE_LIMIT = 1 << 20;
const TAIL_LINES = 40;

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

export interface GuestAssets {
  /** e.g. 6.1.0-56-amd64 */
  kernelVersion: string;
  /** the Debian package the kernel came from */
  kernelPackage: string;
  /** path of the vmlinuz image */
  kernel: string;
  /** the unpacked package (boot/, lib/modules/) */
  kernelDir: string;
  /** path of the gzip'd cpio initramfs */
  initramfs: string;
  /** modules the init loads, in load order */
  modules: string[];
  /** the node binary whose folder goes first on the guest's PATH */
  nodeBin: string;
}

export interface PrepareOptions {
  /** exact Debian package, e.g. linux-image-6.1.0-56-amd64-unsigned (default: newest cached, else newest in apt) */
  kernelPackage?: string;
  /** further kernel modules to load at boot (with their dependencies), e.g. ['veth'] */
  extraModules?: string[];
}

export interface RunOptions extends PrepareOptions {
  /** whole run, boot included (default 300 s, or BPFGATE_VM_TIMEOUT_MS) */
  timeoutMs?: number;
  /** until the command starts (default min(120 s, timeoutMs)) */
  bootTimeoutMs?: number;
  /** extra environment for the command */
  env?: Record<string, string>;
  /** files for the guest: relative path -> content, readable at GUEST_IN/<path> */
  files?: Record<string, string | Buffer>;
  /** working folder in the guest (default: the project root) */
  cwd?: string;
  /** a vmlinuz to boot instead of the cached Debian one (or BPFGATE_VM_KERNEL; modules still come from the cache) */
  kernel?: string;
  /** host folders under /tmp to make visible in the guest's (tmpfs) /tmp; node's and cwd's are added */
  hostTmpPaths?: string[];
  /** guest memory in MiB (default 2048) */
  memoryMiB?: number;
  /** guest CPUs (default 2) */
  cpus?: number;
  /** keep the scratch folder after a successful run (failed runs keep theirs) */
  keep?: boolean;
  /** copy the serial console to this process's stderr as it arrives */
  streamConsole?: boolean;
}

export interface GuestResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** the serial console: kernel messages (quiet) and the init's "bpfgate-vm:" markers */
  console: string;
  /** QEMU start to QEMU exit */
  durationMs: number;
  /** QEMU start to the command's start (the init's "run" marker) */
  bootMs: number;
  /** files the command wrote under GUEST_OUT, relative path -> content */
  outFiles: Record<string, string>;
}

// ---------------------------------------------------------------------------
// helpers

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0';
}

/** Quote one word for a POSIX shell. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell command that runs a Node.js script in the guest with the host's
 * Node (its folder is first on the guest's PATH). `script` is relative to the
 * guest's cwd (the project root by default) or absolute.
 */
export function guestNodeCommand(script: string, args: string[] = [], nodeArgs: string[] = []): string {
  return ['node', ...nodeArgs, script, ...args].map(shellQuote).join(' ');
}

/** The host's node binary, symlinks resolved (it is reachable in the guest through the shared root). */
export function hostNodeBinary(): string {
  return realpathSync(process.execPath);
}

function tail(text: string, lines = TAIL_LINES): string {
  const all = text.replace(/\r/g, '').split('\n');
  while (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}

async function sh(
  cmd: string,
  args: string[],
  what: string,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const r = await run(cmd, args, {
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 300_000,
      maxBuffer: 64 << 20,
      encoding: 'utf8',
    });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new GuestBootError('GUEST_PREPARE_FAILED', `${what} failed: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

function isStaticElf(file: string): boolean {
  const b = readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// preparation: kernel package, unpacked kernel, initramfs

function versionOfPackage(pkg: string): string {
  const m = KERNEL_PACKAGE_RE.exec(pkg);
  if (!m) {
    throw new GuestBootError(
      'GUEST_PREPARE_FAILED',
      `not a Debian generic 6.1 kernel package: ${pkg} (expected linux-image-6.1.0-N-amd64-unsigned)`,
    );
  }
  return m[1]!;
}

async function newestAptKernelPackage(): Promise<string | undefined> {
  const out = await sh(
    'apt-cache',
    ['search', '--names-only', '^linux-image-6\\.1\\.0-[0-9]+-amd64-unsigned$'],
    'apt-cache search',
  );
  let best: { n: number; name: string } | undefined;
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = KERNEL_PACKAGE_RE.exec(name);
    if (m && (!best || Number(m[2]) > best.n)) best = { n: Number(m[2]), name };
  }
  return best?.name;
}

async function newestCachedKernelPackage(): Promise<string | undefined> {
  const dir = path.join(CACHE_DIR, 'kernel');
  if (!existsSync(dir)) return undefined;
  let best: { n: number; name: string } | undefined;
  for (const v of await readdir(dir)) {
    const m = /^6\.1\.0-(\d+)-amd64$/.exec(v);
    if (m && existsSync(path.join(dir, v, '.complete')) && (!best || Number(m[1]) > best.n)) {
      best = { n: Number(m[1]), name: `linux-image-${v}-unsigned` };
    }
  }
  return best?.name;
}

async function chooseKernelPackage(requested?: string): Promise<string> {
  const explicit = requested ?? process.env.BPFGATE_VM_KERNEL_PACKAGE;
  if (explicit) return explicit;
  const cached = await newestCachedKernelPackage();
  if (cached) return cached;
  let pkg = await newestAptKernelPackage();
  if (!pkg) {
    await sh('apt-get', ['update', '-qq'], 'apt-get update', { timeoutMs: 600_000 });
    pkg = await newestAptKernelPackage();
  }
  if (!pkg) {
    throw new GuestBootError(
      'GUEST_PREPARE_FAILED',
      'no linux-image-6.1.0-N-amd64-unsigned package in apt (Debian 12 sources needed)',
    );
  }
  return pkg;
}

/** Download and unpack the kernel package into CACHE_DIR/kernel/<version>, once. */
async function ensureKernel(pkg: string): Promise<string> {
  const version = versionOfPackage(pkg);
  const kdir = path.join(CACHE_DIR, 'kernel', version);
  if (existsSync(path.join(kdir, '.complete'))) return kdir;

  const debs = path.join(CACHE_DIR, 'debs');
  await mkdir(debs, { recursive: true });
  const findDeb = async () =>
    (await readdir(debs)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  let deb = await findDeb();
  if (!deb) {
    const tmp = await mkdtemp(path.join(debs, '.dl-'));
    try {
      await sh('apt-get', ['download', '-q', pkg], `apt-get download ${pkg}`, {
        cwd: tmp,
        timeoutMs: 600_000,
      });
      const got = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
      if (!got) throw new GuestBootError('GUEST_PREPARE_FAILED', `apt-get download ${pkg} produced no .deb`);
      await rename(path.join(tmp, got), path.join(debs, got));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    deb = await findDeb();
    if (!deb) throw new GuestBootError('GUEST_PREPARE_FAILED', `downloaded package for ${pkg} not found`);
  }

  const tmpDir = `${kdir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    await sh('dpkg-deb', ['-x', path.join(debs, deb), tmpDir], `dpkg-deb -x ${deb}`);
    await sh('depmod', ['-b', tmpDir, version], `depmod -b ${tmpDir} ${version}`);
    if (!existsSync(path.join(tmpDir, 'boot', `vmlinuz-${version}`))) {
      throw new GuestBootError('GUEST_KERNEL_MISSING', `${deb} holds no boot/vmlinuz-${version}`);
    }
    await writeFile(path.join(tmpDir, '.complete'), `${pkg}\n${deb}\n`);
    try {
      await rename(tmpDir, kdir);
    } catch (err) {
      // another process finished first: use its copy
      if (!existsSync(path.join(kdir, '.complete'))) throw err;
      await rm(tmpDir, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
  return kdir;
}

/** Modules to load, dependencies first, from the unpacked kernel's modules.dep. Built-ins are skipped. */
export async function moduleLoadOrder(
  kernelDir: string,
  version: string,
  wanted: string[],
): Promise<{ name: string; file: string }[]> {
  const modDir = path.join(kernelDir, 'lib', 'modules', version);
  const depText = await readFile(path.join(modDir, 'modules.dep'), 'utf8');
  const builtin = new Set(
    (await readFile(path.join(modDir, 'modules.builtin'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((p) => modName(p)),
  );
  const deps = new Map<string, { file: string; deps: string[] }>();
  for (const line of depText.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon);
    const list = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    deps.set(modName(file), { file, deps: list.map(modName) });
  }
  const order: { name: string; file: string }[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    if (seen.has(name) || builtin.has(name)) return;
    const entry = deps.get(name);
    if (!entry) {
      throw new GuestBootError(
        'GUEST_PREPARE_FAILED',
        `kernel ${version} has no module ${name} (${chain.join(' <- ')})`,
      );
    }
    seen.add(name);
    // modules.dep lists the whole closure; visiting each keeps dependencies first
    for (const d of entry.deps) visit(d, [d, ...chain]);
    order.push({ name, file: path.join(modDir, entry.file) });
  };
  for (const w of wanted) visit(w.replaceAll('-', '_'), [w]);
  return order;
}

function modName(p: string): string {
  return path
    .basename(p)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replaceAll('-', '_');
}

async function ensureInitramfs(
  kernelDir: string,
  version: string,
  wanted: string[],
): Promise<{ file: string; modules: string[] }> {
  const order = await moduleLoadOrder(kernelDir, version, wanted);
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!busybox) {
    throw new GuestBootError('GUEST_PREPARE_FAILED', 'busybox not found: install busybox-static');
  }
  const busyboxReal = realpathSync(busybox);
  if (!isStaticElf(busyboxReal)) {
    throw new GuestBootError(
      'GUEST_PREPARE_FAILED',
      `${busybox} is dynamically linked: install busybox-static`,
    );
  }
  const init = await readFile(INIT_SCRIPT);
  const bb = await stat(busyboxReal);
  const key = createHash('sha256')
    .update(init)
    .update(`\0${version}\0${order.map((m) => m.file).join('\n')}\0${bb.size}:${bb.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(CACHE_DIR, 'initramfs');
  const file = path.join(dir, `${version}-${key}.cpio.gz`);
  const modules = order.map((m) => m.name);
  if (existsSync(file)) return { file, modules };

  await mkdir(dir, { recursive: true });
  const build = await mkdtemp(path.join(dir, '.build-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt', 'tmp', 'modules']) {
      await mkdir(path.join(build, d), { recursive: true });
    }
    await copyFile(busyboxReal, path.join(build, 'bin', 'busybox'));
    await writeFile(path.join(build, 'init'), init, { mode: 0o755 });
    for (const m of order) {
      if (m.file.endsWith('.ko')) {
        await copyFile(m.file, path.join(build, 'modules', `${m.name}.ko`));
      } else {
        throw new GuestBootError('GUEST_PREPARE_FAILED', `compressed module not supported: ${m.file}`);
      }
    }
    await writeFile(path.join(build, 'modules', 'order'), `${modules.join('\n')}\n`);
    const tmpOut = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await sh(
      'sh',
      [
        '-c',
        'set -e; cd "$1"; chmod 755 bin/busybox init; find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 > "$2"',
        'mkinitramfs',
        build,
        tmpOut,
      ],
      'building the initramfs (cpio, gzip)',
    );
    await rename(tmpOut, file);
  } finally {
    await rm(build, { recursive: true, force: true });
  }
  return { file, modules };
}

const prepared = new Map<string, Promise<GuestAssets>>();

/**
 * Fetch and unpack the kernel and build the initramfs, all cached under
 * CACHE_DIR; repeated calls (in one process) share one preparation.
 */
export function prepareGuest(opts: PrepareOptions = {}): Promise<GuestAssets> {
  const key = JSON.stringify([opts.kernelPackage ?? '', opts.extraModules ?? []]);
  let p = prepared.get(key);
  if (!p) {
    p = prepareGuestUncached(opts);
    prepared.set(key, p);
    p.catch(() => prepared.delete(key));
  }
  return p;
}

async function prepareGuestUncached(opts: PrepareOptions): Promise<GuestAssets> {
  const pkg = await chooseKernelPackage(opts.kernelPackage);
  const version = versionOfPackage(pkg);
  const kernelDir = await ensureKernel(pkg);
  const kernel = path.join(kernelDir, 'boot', `vmlinuz-${version}`);
  if (!existsSync(kernel))
    throw new GuestBootError('GUEST_KERNEL_MISSING', `kernel image missing: ${kernel}`);
  const { file: initramfs, modules } = await ensureInitramfs(kernelDir, version, [
    ...BASE_MODULES,
    ...(opts.extraModules ?? []),
  ]);
  return {
    kernelVersion: version,
    kernelPackage: pkg,
    kernel,
    kernelDir,
    initramfs,
    modules,
    nodeBin: hostNodeBinary(),
  };
}

// ---------------------------------------------------------------------------
// running a guest

const liveGuests = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // a test runner that exits (or is interrupted) must not leave QEMU running
  process.on('exit', () => {
    for (const c of liveGuests) killGroup(c);
  });
}

function runScript(opts: RunOptions, nodeBin: string, kernelDir: string | undefined): string {
  const env: Record<string, string> = {
    PATH: `${path.dirname(nodeBin)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: '/tmp',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    BPFGATE_VM: '1',
    BPFGATE_VM_SHARE: GUEST_SHARE,
    BPFGATE_VM_IN: GUEST_IN,
    BPFGATE_VM_OUT: GUEST_OUT,
    BPFGATE_CGROUP2_ROOT: GUEST_CGROUP2_ROOT,
    ...(kernelDir ? { BPFGATE_VM_KERNEL_DIR: kernelDir } : {}),
    ...opts.env,
  };
  const lines = ['# written by test/vm/harness.ts; runs inside `chroot /mnt` in the guest'];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`bad environment variable name: ${k}`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  // the guest's /tmp is a tmpfs: bring back host folders under /tmp that the run needs
  const hostTmp = new Set<string>();
  for (const p of [nodeBin, opts.cwd ?? PROJECT_ROOT, ...(opts.hostTmpPaths ?? [])]) {
    const first = /^\/tmp\/([^/]+)/.exec(path.resolve(p));
    if (first) hostTmp.add(first[1]!);
  }
  for (const d of hostTmp) {
    const q = shellQuote(`/tmp/${d}`);
    const src = shellQuote(`/tmp/.host-tmp/${d}`);
    lines.push(
      `mkdir -p ${q} && mount --bind ${src} ${q} || { echo "cannot bind the host's ${d} into /tmp" >&2; exit 125; }`,
    );
  }
  if (kernelDir) {
    // the guest kernel's config and System.map at /boot (for bpftool feature probe and doctor checks)
    const boot = shellQuote(path.join(kernelDir, 'boot'));
    lines.push(`[ -d /boot ] && mount --bind ${boot} /boot`);
  }
  lines.push(`cd ${shellQuote(opts.cwd ?? PROJECT_ROOT)} || exit 125`);
  lines.push(`exec /bin/bash ${GUEST_SHARE}/command.sh`);
  return `${lines.join('\n')}\n`;
}

async function readOutFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) out[r] = await readFile(p, 'utf8');
    }
  };
  if (existsSync(dir)) await walk(dir, '');
  return out;
}

/** Remove run folders (kept by failed runs) older than a day. */
async function pruneRuns(runs: string): Promise<void> {
  const limit = Date.now() - 24 * 3600_000;
  for (const d of await readdir(runs).catch(() => [] as string[])) {
    const p = path.join(runs, d);
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory() && st.mtimeMs < limit)
      await rm(p, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Boot a guest, run `command` with bash in `chroot` of the host root (cwd: the
 * project root), and return its exit code and output. Throws GuestBootError
 * when the guest cannot be prepared, fails to boot, or exceeds timeoutMs; a
 * non-zero exit of the command itself is a normal result.
 */
export async function runInGuest(command: string, opts: RunOptions = {}): Promise<GuestResult> {
  const timeoutMs = opts.timeoutMs ?? Number(process.env.BPFGATE_VM_TIMEOUT_MS ?? 300_000);
  const bootTimeoutMs = Math.min(opts.bootTimeoutMs ?? 120_000, timeoutMs);
  const started = Date.now();

  const kernelOverride = opts.kernel ?? (process.env.BPFGATE_VM_KERNEL || undefined);
  // fail fast on what can be checked before any download or boot
  if (kernelOverride !== undefined && !existsSync(kernelOverride)) {
    throw new GuestBootError('GUEST_KERNEL_MISSING', `kernel image not found: ${kernelOverride}`);
  }
  const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) =>
    existsSync(p),
  );
  if (!qemu)
    throw new GuestBootError('GUEST_QEMU_MISSING', 'qemu-system-x86_64 not found: install qemu-system-x86');
  if (!existsSync(GUEST_SHARE)) {
    throw new GuestBootError('GUEST_PREPARE_FAILED', `${GUEST_SHARE} must exist (empty) in the host root`);
  }

  const assets = await prepareGuest(opts);
  const kernel = kernelOverride ?? assets.kernel;
  if (!existsSync(kernel))
    throw new GuestBootError('GUEST_KERNEL_MISSING', `kernel image not found: ${kernel}`);

  const runs = path.join(CACHE_DIR, 'runs');
  await mkdir(runs, { recursive: true });
  await pruneRuns(runs);
  const scratch = await mkdtemp(path.join(runs, `${new Date().toISOString().replace(/[:.]/g, '')}-`));
  await mkdir(path.join(scratch, 'in'), { recursive: true });
  await mkdir(path.join(scratch, 'out'), { recursive: true });
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const dest = path.resolve(scratch, 'in', rel);
    if (!dest.startsWith(path.join(scratch, 'in') + path.sep)) throw new TypeError(`bad file name: ${rel}`);
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(dest, content);
  }
  await writeFile(path.join(scratch, 'command.sh'), `${command}\n`);
  // the guest powers itself off a little after the host's deadline, should the host be gone
  await writeFile(path.join(scratch, 'deadline-seconds'), `${Math.ceil(timeoutMs / 1000) + 30}\n`);
  await writeFile(
    path.join(scratch, 'run.sh'),
    runScript(opts, assets.nodeBin, kernelOverride === undefined ? assets.kernelDir : undefined),
  );

  const debug = envFlag('BPFGATE_VM_DEBUG');
  const append = [
    'console=ttyS0',
    debug ? 'loglevel=7' : 'quiet',
    'panic=-1',
    'oops=panic',
    'mitigations=off',
    'random.trust_cpu=on',
    'tsc=reliable',
  ].join(' ');
  const args = [
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-m',
    String(opts.memoryMiB ?? 2048),
    '-smp',
    String(opts.cpus ?? 2),
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-kernel',
    kernel,
    '-initrd',
    assets.initramfs,
    '-append',
    append,
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${scratch},mount_tag=share,security_model=none,multidevs=remap`,
  ];
  await writeFile(path.join(scratch, 'qemu.args'), `${[qemu, ...args].map(shellQuote).join(' ')}\n`);

  installExitHook();
  const qemuStart = Date.now();
  const child = spawn(qemu, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  liveGuests.add(child);

  let consoleText = '';
  let qemuStderr = '';
  let bootMs = -1;
  const stream = opts.streamConsole ?? envFlag('BPFGATE_VM_CONSOLE');
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    if (stream) process.stderr.write(chunk);
    consoleText += chunk;
    if (consoleText.length > CONSOLE_LIMIT) consoleText = consoleText.slice(-CONSOLE_LIMIT);
    if (bootMs < 0 && consoleText.includes('bpfgate-vm: run')) bootMs = Date.now() - qemuStart;
  });
  child.stderr!.on('data', (chunk: string) => {
    if (stream) process.stderr.write(chunk);
    qemuStderr = (qemuStderr + chunk).slice(-65536);
  });

  type Outcome =
    | { kind: 'exit'; code: number | null; signal: string | null }
    | { kind: 'timeout'; phase: 'boot' | 'command' }
    | { kind: 'spawn-error'; err: Error };
  const outcome = await new Promise<Outcome>((resolve) => {
    const remaining = timeoutMs - (qemuStart - started);
    const total = setTimeout(
      () => resolve({ kind: 'timeout', phase: bootMs < 0 ? 'boot' : 'command' }),
      Math.max(remaining, 1000),
    );
    const boot = setTimeout(() => {
      if (bootMs < 0) resolve({ kind: 'timeout', phase: 'boot' });
    }, bootTimeoutMs);
    child.on('error', (err) => resolve({ kind: 'spawn-error', err }));
    child.on('exit', (code, signal) => resolve({ kind: 'exit', code, signal }));
    const clear = () => {
      clearTimeout(total);
      clearTimeout(boot);
    };
    child.on('exit', clear);
    child.on('error', clear);
    total.unref?.();
  });
  // a QEMU that exited by itself is not signalled (its group id could be reused)
  if (outcome.kind !== 'exit') killGroup(child);
  liveGuests.delete(child);
  const durationMs = Date.now() - qemuStart;

  const consoleAll = consoleText + (qemuStderr ? `\n[qemu stderr]\n${qemuStderr}` : '');
  await writeFile(path.join(scratch, 'console.log'), consoleAll).catch(() => {});
  const details = { consoleTail: tail(consoleAll), scratchDir: scratch };

  if (outcome.kind === 'spawn-error') {
    throw new GuestBootError('GUEST_QEMU_MISSING', `cannot start ${qemu}: ${outcome.err.message}`, {
      ...details,
      phase: 'boot',
      cause: outcome.err,
    });
  }
  if (outcome.kind === 'timeout') {
    const limit = outcome.phase === 'boot' ? bootTimeoutMs : timeoutMs;
    throw new GuestBootError(
      'GUEST_TIMEOUT',
      outcome.phase === 'boot'
        ? `guest did not start the command within ${limit} ms (kept: ${scratch})`
        : `guest command did not finish within ${limit} ms (kept: ${scratch})`,
      { ...details, phase: outcome.phase },
    );
  }

  const codeFile = path.join(scratch, 'exit-code');
  const codeText = existsSync(codeFile) ? (await readFile(codeFile, 'utf8')).trim() : '';
  if (!/^\d+$/.test(codeText)) {
    const m = /bpfgate-vm: boot-failed: (.*)/.exec(consoleText);
    const reason = m
      ? m[1]!.trim()
      : /Kernel panic/.test(consoleText)
        ? 'kernel panic'
        : `QEMU exited (code ${outcome.code}, signal ${outcome.signal}) without a result`;
    throw new GuestBootError('GUEST_BOOT_FAILED', `guest failed: ${reason} (kept: ${scratch})`, {
      ...details,
      phase: bootMs < 0 ? 'boot' : 'command',
    });
  }

  const result: GuestResult = {
    exitCode: Number(codeText),
    stdout: await readFile(path.join(scratch, 'stdout'), 'utf8').catch(() => ''),
    stderr: await readFile(path.join(scratch, 'stderr'), 'utf8').catch(() => ''),
    console: consoleAll,
    durationMs,
    bootMs,
    outFiles: await readOutFiles(path.join(scratch, 'out')),
  };
  if (!(opts.keep || envFlag('BPFGATE_VM_KEEP'))) await rm(scratch, { recursive: true, force: true });
  return result;
}
