// QEMU guest harness for the kernel test suite: runs a shell command on
// Debian's generic 6.1 kernel (BPF-LSM active unless the kernel command line
// says otherwise, kprobes built in) under QEMU (TCG), with the host's root
// file system shared read-only, and returns the command's exit code, stdout
// and stderr. See docs/testing-kernel.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, type PrepareOptions, prepareGuest } from './guest-assets.ts';
import { GuestBootError } from './guest-error.ts';
import { type KernelOptions, kernelCommandLine, qemuArgs } from './guest-qemu.ts';
import { GUEST_SHARE, pruneRuns, readOutFiles, runScript } from './guest-share.ts';
import { shellQuote } from './shell.ts';

export {
  BASE_MODULES,
  CACHE_DIR,
  type GuestAssets,
  hostNodeBinary,
  moduleLoadOrder,
  type PrepareOptions,
  prepareGuest,
} from './guest-assets.ts';
export { GuestBootError, type GuestErrorCode } from './guest-error.ts';
export { type KernelOptions, kernelCommandLine, LSM_WITHOUT_BPF, qemuArgs } from './guest-qemu.ts';
export { GUEST_CGROUP2_ROOT, GUEST_IN, GUEST_OUT, GUEST_SHARE } from './guest-share.ts';
export { PROJECT_ROOT } from './paths.ts';
export { shellQuote } from './shell.ts';

const CONSOLE_LIMIT = 1 << 20;
/** How long a guest may take to reach its init before QEMU is taken to have stalled in its firmware (boots take 3–9 s) */
const FIRMWARE_STALL_MS = 45_000;
const TAIL_LINES = 40;

export interface RunOptions extends PrepareOptions, KernelOptions {
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

/**
 * The shell command that runs a Node.js script in the guest with the host's
 * Node (its folder is first on the guest's PATH). `script` is relative to the
 * guest's cwd (the project root by default) or absolute.
 */
export function guestNodeCommand(script: string, args: string[] = [], nodeArgs: string[] = []): string {
  return ['node', ...nodeArgs, script, ...args].map(shellQuote).join(' ');
}

function tail(text: string, lines = TAIL_LINES): string {
  const all = text.replace(/\r/g, '').split('\n');
  while (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
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
  const append = kernelCommandLine(opts);
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

  const args = qemuArgs({
    kernel,
    initramfs: assets.initramfs,
    scratch,
    append,
    ...(opts.memoryMiB !== undefined ? { memoryMiB: opts.memoryMiB } : {}),
    ...(opts.cpus !== undefined ? { cpus: opts.cpus } : {}),
  });
  await writeFile(path.join(scratch, 'qemu.args'), `${[qemu, ...args].map(shellQuote).join(' ')}\n`);

  installExitHook();
  type Outcome =
    | { kind: 'exit'; code: number | null; signal: string | null }
    | { kind: 'timeout'; phase: 'boot' | 'command' }
    | { kind: 'stalled' }
    | { kind: 'spawn-error'; err: Error };

  let qemuStart = Date.now();
  let consoleText = '';
  let qemuStderr = '';
  let bootMs = -1;
  let outcome: Outcome = { kind: 'stalled' };
  const stream = opts.streamConsole ?? envFlag('BPFGATE_VM_CONSOLE');
  // QEMU (TCG) has been seen to stop in its firmware ("Booting from ROM..") and never start the
  // kernel, one boot in some hundreds: a guest whose init has said nothing after
  // FIRMWARE_STALL_MS is booted once more, and says so. Nothing of the run has started then.
  for (let attempt = 1; outcome.kind === 'stalled'; attempt++) {
    if (attempt > 1) {
      process.stderr.write(
        `guest: QEMU did not start the kernel within ${FIRMWARE_STALL_MS} ms (console: ${JSON.stringify(consoleText.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, '').slice(-120))}); booting again\n`,
      );
    }
    qemuStart = Date.now();
    consoleText = '';
    qemuStderr = '';
    bootMs = -1;
    const child = spawn(qemu, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    liveGuests.add(child);
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

    const mayRetry = attempt === 1 && bootTimeoutMs > FIRMWARE_STALL_MS;
    outcome = await new Promise<Outcome>((resolve) => {
      const remaining = timeoutMs - (qemuStart - started);
      const total = setTimeout(
        () => resolve({ kind: 'timeout', phase: bootMs < 0 ? 'boot' : 'command' }),
        Math.max(remaining, 1000),
      );
      const boot = setTimeout(
        () => {
          if (bootMs < 0) resolve({ kind: 'timeout', phase: 'boot' });
        },
        Math.max(bootTimeoutMs - (qemuStart - started), 1000),
      );
      const stall = setTimeout(() => {
        if (mayRetry && !consoleText.includes('bpfgate-vm: init')) resolve({ kind: 'stalled' });
      }, FIRMWARE_STALL_MS);
      child.on('error', (err) => resolve({ kind: 'spawn-error', err }));
      child.on('exit', (code, signal) => resolve({ kind: 'exit', code, signal }));
      const clear = () => {
        clearTimeout(total);
        clearTimeout(boot);
        clearTimeout(stall);
      };
      child.on('exit', clear);
      child.on('error', clear);
      total.unref?.();
      stall.unref?.();
    });
    // a QEMU that exited by itself is not signalled (its group id could be reused)
    if (outcome.kind !== 'exit') killGroup(child);
    liveGuests.delete(child);
  }
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
