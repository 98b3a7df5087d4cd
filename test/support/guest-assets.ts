// The guest's kernel and initramfs, prepared once and cached under CACHE_DIR:
// Debian's generic 6.1 kernel package (downloaded with apt, unpacked, depmod)
// and an initramfs of busybox-static, test/support/guest-init.sh and the 9p
// modules in dependency order. test/support/guest.ts boots them.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GuestBootError } from './guest-error.ts';
import { CACHE } from './paths.ts';

const run = promisify(execFile);

/** Cache of downloaded packages, unpacked kernels, initramfs images and run folders. */
export const CACHE_DIR = process.env.BPFGATE_VM_CACHE ?? path.join(CACHE, 'vm');

const INIT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'guest-init.sh');
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
/** Modules the init script loads: 9p over virtio-pci. Dependencies are added from modules.dep. */
export const BASE_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];
const KERNEL_PACKAGE_RE = /^linux-image-(6\.1\.0-(\d+)-amd64)-unsigned$/;

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

/** The host's node binary, symlinks resolved (it is reachable in the guest through the shared root). */
export function hostNodeBinary(): string {
  return realpathSync(process.execPath);
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
