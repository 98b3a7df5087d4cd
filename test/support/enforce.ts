// A host test's enforcement rig: its own cgroup
// (/sys/fs/cgroup/unified/bpfgate-test-<random>), a policies folder scoped to
// it, the real daemon (test/support/daemon.ts) with its own pin root, and the
// processes a test runs inside or outside the cgroup. Enforcement is scoped to
// that cgroup (KERNEL.md, "Safety"); only the test's own children are moved
// into it, and everything is undone in close() whatever happened.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cgroupTreePids, createCgroup, inCgroup, type TestCgroup } from './cgroup.ts';
import { runCommand } from './child.ts';
import { DaemonProcess, type Exit } from './daemon.ts';
import { FIXTURES } from './paths.ts';

export const HOST_POLICIES = `${FIXTURES}/host-policies`;
const BPFFS = '/sys/fs/bpf';

export interface AttemptResult extends Exit {
  pid: number;
  stdout: string;
  stderr: string;
}

/**
 * A test's own cgroup (`/sys/fs/cgroup/unified/bpfgate-test-<random>`), a
 * policies folder scoped to it, and the daemon. Create in beforeAll, close()
 * in afterAll.
 */
export class EnforceHarness {
  readonly name: string;
  readonly cgroup: TestCgroup;
  /** scratch folder: policies/, device nodes, markers */
  readonly dir: string;
  readonly policiesDir: string;
  /** a bpffs folder of this test's own for the daemon's pins: never another daemon's */
  readonly pinRoot: string;
  daemon: DaemonProcess | null = null;
  readonly #children = new Set<ChildProcess>();

  constructor() {
    this.name = `bpfgate-test-${randomBytes(4).toString('hex')}`;
    this.cgroup = createCgroup(this.name);
    this.dir = mkdtempSync(`${tmpdir()}/${this.name}-`);
    this.policiesDir = `${this.dir}/policies`;
    mkdirSync(this.policiesDir);
    this.pinRoot = `${BPFFS}/${this.name}`;
  }

  /** The environment of every bpfgate this harness starts: its own pin root. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BPFGATE_PIN_ROOT: this.pinRoot };
  }

  /** The cgroup selector of policies scoped to this cgroup and its subtree. */
  get scope(): string {
    return `/${this.name}/**`;
  }

  /**
   * Copy the policy templates of test/fixtures/host-policies/<set>/ into a
   * folder (default: this harness's policies/), replacing ${CGROUP} with the
   * scope selector and ${KEY} with vars[KEY]. An unknown placeholder is an error.
   */
  writePolicies(set: string, vars: Record<string, string | number> = {}, into = this.policiesDir): string {
    mkdirSync(into, { recursive: true });
    const all: Record<string, string> = { CGROUP: this.scope, DIR: this.dir };
    for (const [k, v] of Object.entries(vars)) all[k] = String(v);
    const src = `${HOST_POLICIES}/${set}`;
    for (const f of readdirSync(src).sort()) {
      const text = readFileSync(`${src}/${f}`, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
        if (!(k in all)) throw new Error(`${src}/${f}: no value for \${${k}}`);
        return all[k]!;
      });
      writeFileSync(`${into}/${f}`, text);
    }
    return into;
  }

  /** Start `bpfgate run --policies <policies> --cgroup <this cgroup> ...extra` and wait until it enforces. */
  async startDaemon(extra: string[] = [], policies = this.policiesDir): Promise<DaemonProcess> {
    const d = new DaemonProcess(['--policies', policies, '--cgroup', this.cgroup.path, ...extra], {
      env: this.env,
    });
    this.daemon = d;
    await d.ready();
    // a test daemon starts from nothing: adopting pins would mean another daemon's enforcement
    const adopted = d.logs.find((l) => l.msg === 'adopting the enforcement a previous daemon left pinned');
    if (adopted) throw new Error(`the test daemon adopted pins it did not make: ${JSON.stringify(adopted)}`);
    return d;
  }

  /** Run argv, inside this cgroup (the child moves itself in, then execs) or outside it. */
  attempt(argv: string[], where: 'inside' | 'outside', timeoutMs = 10_000): Promise<AttemptResult> {
    const [cmd, ...args] = where === 'inside' ? inCgroup(argv, this.cgroup.path) : argv;
    return new Promise((resolve, reject) => {
      const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.#children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        resolve({ pid: child.pid!, code, signal, stdout: stdout.trim(), stderr: stderr.trim() });
      });
    });
  }

  /** Program ids attached to this cgroup (bpftool cgroup show), empty when none. */
  async attachedToCgroup(): Promise<unknown[]> {
    const r = await runCommand(['bpftool', '-j', 'cgroup', 'show', this.cgroup.path]);
    if (r.code !== 0) throw new Error(`bpftool cgroup show ${this.cgroup.path}: ${r.stderr}`);
    const text = r.stdout.trim();
    return text ? (JSON.parse(text) as unknown[]) : [];
  }

  /** Links pinned under this harness's pin root (what would outlive the daemon), empty when none. */
  pinnedLinks(): string[] {
    try {
      return readdirSync(`${this.pinRoot}/links`).sort();
    } catch {
      return [];
    }
  }

  /** Stop the daemon, end our children, remove the cgroup and the scratch folder. */
  async close(): Promise<void> {
    try {
      if (this.daemon?.running) await this.daemon.stop('SIGTERM');
    } finally {
      for (const c of this.#children) c.kill('SIGKILL');
      // only our children were ever moved in (or below, into cgroups the test made); end any that are left
      const left = cgroupTreePids(this.cgroup.path);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already exited
        }
      }
      // pins of this test's own daemon only (unpinning a link detaches it)
      rmSync(this.pinRoot, { recursive: true, force: true });
      await this.cgroup.remove();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
