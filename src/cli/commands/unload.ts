// bpfgate unload: stop enforcing for good. Stops a running daemon (SIGTERM),
// then detaches every link pinned under the pin root and removes every pin
// and the folder. Idempotent: with nothing pinned it says so and exits 0.
import { flagSet, parseCommandArgs } from '../../args.ts';
import { loadConfig } from '../../config/resolve.ts';
import { PrivilegeError, UsageError } from '../../errors.ts';
import { isPrivilegeError } from '../../kernel/binding.ts';
import { DEFAULT_PIN_ROOT, liveOwner, PinLayout, removePins, type UnloadReport } from '../../kernel/pins.ts';
import { DEFAULT_RUN_DIR, readPinnedProtect, requestUnload } from '../../kernel/protect.ts';

export const UNLOAD_USAGE = `usage: bpfgate unload [options]

Stops a running bpfgate daemon, detaches every program bpfgate left pinned and
removes the pins (maps, links, the folder). Enforcement ends.

  --pin-root DIR     the pins' folder (default ${DEFAULT_PIN_ROOT}) [BPFGATE_PIN_ROOT]
  --config FILE      take the pins' folder from this configuration file (pins.root)
  --wait-ms MS       how long to wait for a running daemon to stop (default 10000)
  --json             print what was removed as JSON
  -h, --help         show this help
`;

export interface UnloadResult extends UnloadReport {
  /** the daemon that was running (bg_state.daemon_tgid), if any */
  daemon: { pid: number; stopped: boolean } | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function stopDaemon(layout: PinLayout, pid: number, waitMs: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    if (code !== 'EPERM' || !readPinnedProtect(layout)?.armed) throw err;
    // self-protection refuses the signal: ask the daemon to disarm (it logs who asked), then stop it
    if (!(await requestUnload(layout, DEFAULT_RUN_DIR, waitMs)))
      throw new PrivilegeError(
        `the daemon (pid ${pid}) is protected and did not answer the unload request: see the break-glass paths in docs/persistence.md`,
      );
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

export async function unload(layout: PinLayout, waitMs = 10_000): Promise<UnloadResult> {
  const pid = liveOwner(layout);
  const daemon = pid === null ? null : { pid, stopped: await stopDaemon(layout, pid, waitMs) };
  try {
    return { ...removePins(layout), daemon };
  } catch (err) {
    if (isPrivilegeError(err) || (err as NodeJS.ErrnoException).code === 'EPERM')
      throw new PrivilegeError(
        `removing the pins under ${layout.root} was refused: run as root (with self-protection on, use 'bpfgate unload --break-glass' as documented in docs/persistence.md)`,
        { cause: err },
      );
    throw err;
  }
}

export function formatUnload(r: UnloadResult): string {
  const lines: string[] = [];
  if (r.daemon)
    lines.push(
      r.daemon.stopped
        ? `stopped the daemon (pid ${r.daemon.pid})`
        : `the daemon (pid ${r.daemon.pid}) did not stop in time: programs it still holds stay attached until it exits`,
    );
  if (!r.found) {
    lines.push(`nothing pinned under ${r.root}`);
    return `${lines.join('\n')}\n`;
  }
  for (const l of r.links) {
    const what = l.id === null ? 'a defunct link' : `link ${l.id}, ${l.type}, program ${l.progId}`;
    lines.push(`detached ${l.key} (${what})`);
  }
  for (const m of r.maps) lines.push(`removed map ${m}`);
  for (const o of r.other) lines.push(`removed ${o}`);
  lines.push(`removed ${r.root}`);
  return `${lines.join('\n')}\n`;
}

export async function run(args: string[]): Promise<number> {
  const v = parseCommandArgs('unload', args, flagSet(['pin-root', 'config', 'wait-ms'], ['json'])).values as {
    'pin-root'?: string;
    config?: string;
    'wait-ms'?: string;
    json?: boolean;
    help?: boolean;
  };
  if (v.help) {
    process.stdout.write(UNLOAD_USAGE);
    return 0;
  }
  if (v.config !== undefined && v['pin-root'] !== undefined)
    throw new UsageError('--config and --pin-root are alternatives: give one');
  const fromConfig =
    v.config !== undefined
      ? loadConfig({ configFile: v.config, flags: {}, env: {}, defaultFile: null }).daemon.pinRoot
      : undefined;
  if (fromConfig === null) throw new UsageError(`${v.config}: pins.root is off: nothing is pinned`);
  const root = fromConfig ?? v['pin-root'] ?? process.env.BPFGATE_PIN_ROOT ?? DEFAULT_PIN_ROOT;
  if (!root.startsWith('/')) throw new UsageError('--pin-root: an absolute path');
  const waitMs = v['wait-ms'] === undefined ? 10_000 : Number(v['wait-ms']);
  if (!Number.isInteger(waitMs) || waitMs < 0)
    throw new UsageError('--wait-ms: milliseconds (an integer >= 0)');
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0)
    throw new PrivilegeError('bpfgate unload needs root (it detaches BPF programs and removes bpffs pins)');
  const r = await unload(new PinLayout(root), waitMs);
  process.stdout.write(v.json ? `${JSON.stringify(r)}\n` : formatUnload(r));
  return 0;
}
