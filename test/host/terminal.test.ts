// `bpfgate run` as a person sees it in a terminal (a pseudo-terminal made by
// util-linux `script`), on this host's kernel, scoped to a cgroup of the
// test's own: a one-screen start-up, one readable line per violation, JSON
// lines only when asked, "enforcing" never said in audit mode; and
// `bpfgate tail` reading the running daemon's local socket (no NATS), each
// event once.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroup, rawSocketPolicyDir, type TestCgroup, tryRawSocket } from '../support/cgroup.ts';
import { Child, runCommand } from '../support/child.ts';
import { BPFGATE, PROJECT_ROOT } from '../support/paths.ts';
import { shellQuote } from '../support/shell.ts';
import { waitFor } from '../support/wait.ts';

const NAME = `bpfgate-tty-${process.pid}`;
let cg: TestCgroup;
let policies: string;

beforeAll(() => {
  cg = createCgroup(NAME);
  policies = rawSocketPolicyDir('tty-raw', cg);
});

afterAll(async () => {
  await cg?.remove();
});

/** `bpfgate run ARGS` in a pseudo-terminal; the terminal's output, escape sequences removed. */
function inTerminal(
  args: string[],
  socket = 'off',
): { child: Child; screen: () => string; stop: () => Promise<void> } {
  const pins = `/sys/fs/bpf/${NAME}-${args.length}`;
  const cmd = [
    process.execPath,
    BPFGATE,
    'run',
    '--policies',
    policies,
    '--cgroup',
    cg.path,
    '--pin-root',
    pins,
    '--events-socket',
    socket,
    ...args,
  ]
    .map(shellQuote)
    .join(' ');
  const child = new Child(['script', '-qfec', cmd, '/dev/null'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TERM: 'xterm' },
  });
  return {
    child,
    screen: () =>
      child
        .stdout()
        .replace(/\x1b\[[0-9;]*m/g, '')
        .replace(/\r/g, ''),
    stop: async () => {
      // the daemon itself (script's child), stopped as Ctrl-C would; script ends with it
      await runCommand([
        'pkill',
        '-INT',
        '-f',
        '--',
        `^${process.execPath} ${BPFGATE} run .*--pin-root ${pins}`,
      ]);
      try {
        await child.until(() => child.exit ?? undefined, 'the daemon to stop', 15_000);
      } finally {
        if (child.running) await child.stop('SIGTERM', 5000);
      }
    },
  };
}

describe('bpfgate run in a terminal', () => {
  it('a one-screen start-up, then one readable, coloured line per violation', async () => {
    const t = inTerminal([]);
    try {
      await waitFor(() => t.screen().includes('bpfgate is enforcing'), 30_000, 'the start-up');
      expect(await tryRawSocket(cg.path)).toBe('errno 1');
      await waitFor(() => t.screen().includes('tty-raw/raw-inet'), 10_000, 'the violation line');
      const lines = t.screen().trim().split('\n');
      expect(lines.length).toBeLessThan(12);
      // the kernel's rungs, then what the policies achieve on them
      expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}enforcement rungs on this kernel: BPF-LSM /);
      expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d INFO {2}1 policy, 1 rules: 1 block via cgroup$/);
      const violation = lines.find((l) => l.includes('tty-raw/raw-inet'))!;
      expect(violation).toMatch(
        /^\d\d:\d\d:\d\d denied\s+tty-raw\/raw-inet \S*python3\S*\[\d+\] root socket inet\/raw$/,
      );
      expect(t.screen()).not.toContain('{"');
      expect(t.child.stdout()).toContain('\x1b[31mdenied'); // colour on a terminal
    } finally {
      await t.stop();
    }
    expect(t.screen()).toContain('stopping: detaching every program');
  });

  it('--audit says so and never says "enforcing"; --output json gives JSON lines', async () => {
    const t = inTerminal(['--audit', '--output', 'json']);
    try {
      await waitFor(() => t.screen().includes('audit mode'), 30_000, 'the start-up');
      expect(t.screen()).toContain('bpfgate is running in audit mode: nothing is denied or killed');
      expect(t.screen()).not.toContain('bpfgate is enforcing');
      expect(await tryRawSocket(cg.path)).toBe('ok');
      await waitFor(() => t.screen().includes('"outcome":"would-block"'), 10_000, 'the JSON violation');
    } finally {
      await t.stop();
    }
  });
});

describe('bpfgate tail without NATS', () => {
  it('reads the running daemon through its local socket and says what it watches', async () => {
    const socket = join(policies, 'events.sock');
    const t = inTerminal([], socket);
    try {
      await waitFor(() => t.screen().includes('bpfgate is enforcing'), 30_000, 'the daemon');
      const tail = new Child([process.execPath, BPFGATE, 'tail', '--socket', socket], { cwd: PROJECT_ROOT });
      try {
        await waitFor(() => tail.stderr().includes('watching the local daemon'), 10_000, 'tail to connect');
        expect(await tryRawSocket(cg.path)).toBe('errno 1');
        expect(await tryRawSocket(cg.path)).toBe('errno 1');
        await waitFor(() => tail.stdoutLines().length >= 2, 10_000, 'two lines');
        for (const l of tail.stdoutLines()) expect(l).toMatch(/ denied\s+tty-raw\/raw-inet .*python3/);
      } finally {
        await tail.stop('SIGINT');
      }
      expect(tail.exit?.code).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
