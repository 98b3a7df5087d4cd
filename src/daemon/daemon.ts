// The daemon: policies → plan → kernel, and kernel records → events → sinks.
// It receives its parts from the composition root (./compose.ts) and only
// sequences them: start() brings everything up in order and throws (having
// undone what it did) on any failure; stop() takes it down in reverse:
// detach, drain the ring, flush the sinks. reload() swaps a new policy set in
// atomically or keeps enforcing the old one.

import type { FeatureSet } from '../abi/features.ts';
import type { Plan, PlannedRule } from '../abi/plan.ts';
import { compile } from '../compiler/compile.ts';
import { achievedText, type EnforcementSummary, groupText, summarize } from '../compiler/downgrades.ts';
import type { DaemonOptions } from '../config/daemon.ts';
import { rungsLine, rungsOf } from '../doctor/rungs.ts';
import { EnforcementDowngradeError, PrivilegeError, ValidationError } from '../errors.ts';
import { type BootClock, buildPolicyErrorEvent, buildTamperEvent } from '../events/build.ts';
import type { IdSource } from '../events/id.ts';
import type { Loader } from '../kernel/loader.ts';
import { hasPins, type PinLayout, removePins } from '../kernel/pins.ts';
import type { Protection, ProtectStatus } from '../kernel/protect.ts';
import type { KernelSession, PacketCount, StatsSnapshot } from '../kernel/session.ts';
import type { Logger } from '../log.ts';
import type { PolicyResult } from '../policy/index.ts';
import { exemptSelf, SELF_RULE_ID } from '../policy/self.ts';
import type { NatsSink } from '../sinks/nats.ts';
import type { Sink } from '../sinks/sink.ts';
import type { StdoutSink } from '../sinks/stdout.ts';
import { ExeWatch } from './exe-watch.ts';
import type { EventPipeline } from './pipeline.ts';

const noop = (): void => {};

/** How often the file rules' paths are resolved to identities again (docs/architecture.md) */
const IDENTITY_CHECK_MS = 10_000;

/** Where the policy set comes from (files, a fleet bucket: src/fleet/); read at start and on every reload. */
export interface PolicySource {
  /** `parsing`: told once the sources are read and their parse has begun (a large set's in a worker) */
  load(parsing?: () => void): Promise<PolicyResult>;
}

/** The kernel side, opened once the kernel's features are known. */
export interface KernelParts {
  /** where the cgroup programs attach; throws PrivilegeError without cgroup v2 */
  cgroup(features: FeatureSet): { mount: string; attachAt: string };
  /** where maps and links are pinned; null: nothing pinned */
  readonly pins: PinLayout | null;
  /** open the BPF object (reusing pinned maps) and the loader over it; refuses what the kernel cannot do */
  open(
    features: FeatureSet,
    cgroup: { mount: string; attachAt: string },
  ): { session: KernelSession; loader: Loader };
  /** arm self-protection once enforcing; null: not asked for, or break glass */
  protect(session: KernelSession, onRefused: (refused: Record<string, number>) => void): Protection | null;
  /** an interface's index in the daemon's network namespace (0: none), for ingress and egress rules */
  ifIndex(name: string): number;
}

/** Everything the daemon runs with, wired by the composition root. */
export interface DaemonParts {
  log: Logger;
  probe: () => Promise<FeatureSet>;
  policies: PolicySource;
  kernel: KernelParts;
  /** every output behind one sink (aggregation, stdout, NATS, metrics) */
  sink: Sink;
  /** the NATS sink inside `sink`, for its statistics; null: no NATS */
  nats: NatsSink | null;
  /** the stdout sink inside `sink`, for what it could not write; null: no stdout */
  stdout?: StdoutSink | null;
  ids: IdSource;
  clock: () => Promise<BootClock>;
  /** the event pipeline, given the boot clock measured at start */
  events: (clock: BootClock) => EventPipeline;
  /** bpfgate's own runtime files (its Node.js), which no policy may stop from starting (policy/self.ts) */
  self?: readonly string[];
  /** after a start or a reload: give back what reading and compiling the set left behind (./memory.ts) */
  releaseMemory?: () => void;
}

/** What the daemon achieves for a rule, in one line, for the downgrade list. */
function enforcementLine(r: PlannedRule): string {
  const how = r.mechanism ? `${r.achieved} via ${r.mechanism}` : r.achieved;
  return `${r.policy}/${r.rule} (${r.kind}, ${r.action}${r.dryRun ? ', dry run' : ''}): ${how}`;
}

/** The start-up record's message: what the daemon does now, never more than it does. */
export function readyMessage(s: EnforcementSummary, audit: boolean): { state: string; msg: string } {
  if (s.policies === 0)
    return { state: 'idle', msg: 'bpfgate is running with no policies: nothing is enforced' };
  if (audit)
    return {
      state: 'audit',
      msg: 'bpfgate is running in audit mode: nothing is denied or killed; violations are reported as would-block / would-kill',
    };
  if (s.enforcing === 0)
    return {
      state: 'reporting',
      msg: 'bpfgate is running: no rule denies or kills here; every rule only reports',
    };
  return { state: 'enforcing', msg: 'bpfgate is enforcing' };
}

/** How long a process must go without a record of a repeated violation before its count is swept. */
const REPEAT_IDLE_MS = 1000;

/** Whether a process (host pid) exists; a process bpfgate may not signal exists too. */
function processAlive(tgid: number): boolean {
  try {
    process.kill(tgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #parts: DaemonParts;
  readonly #log: Logger;
  #features: FeatureSet | null = null;
  #session: KernelSession | null = null;
  #loader: Loader | null = null;
  #pipeline: EventPipeline | null = null;
  #plan: Plan | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  /** keys in bg_repeats at the last sweep */
  #repeatKeys = 0;
  #identityTimer: NodeJS.Timeout | null = null;
  /** the named executables' directories: a binary replaced is resolved again at once */
  readonly #exeWatch = new ExeWatch(() => this.#refreshExeIdentities());
  #lastStats: StatsSnapshot | null = null;
  #stdoutDropped = 0;
  #readerLost = 0;
  #reloading: Promise<boolean> | null = null;
  #pins: PinLayout | null = null;
  /** a previous daemon's pins were there at start: a failed start must leave them enforcing */
  #foundPins = false;
  #started = false;
  #protection: Protection | null = null;
  readonly counters = { reloads: 0, reloadFailures: 0 };
  #lastReloadError: unknown = null;

  constructor(options: DaemonOptions, parts: DaemonParts) {
    this.#o = options;
    this.#parts = parts;
    this.#log = parts.log.child({ component: 'daemon' });
  }

  get plan(): Plan | null {
    return this.#plan;
  }

  get features(): FeatureSet | null {
    return this.#features;
  }

  /** The policy set is loaded and its programs attached. */
  get enforcing(): boolean {
    return this.#loader !== null && this.#plan !== null;
  }

  /** Why events are not being read from the kernel now (a retry is scheduled), or null while they are. */
  get readingStopped(): string | null {
    const err = this.#session?.readerState().stoppedBy;
    return err ? err.message : null;
  }

  get mode(): 'enforce' | 'audit' {
    return this.#o.audit ? 'audit' : 'enforce';
  }

  get host(): string {
    return this.#o.host;
  }

  /** Why the last reload was rejected (a ValidationError carries the diagnostics); null after a successful one. */
  get lastReloadError(): unknown {
    return this.#lastReloadError;
  }

  pipelineCounters() {
    return this.#pipeline?.counters ?? null;
  }

  sinkStats() {
    return this.#parts.nats?.stats() ?? null;
  }

  /** executables exceptions pin by SHA-256 whose file is not verified now, and why */
  unverifiedExecutables(): { path: string; reason: string }[] {
    return this.#loader?.unverifiedExecutables() ?? [];
  }

  unmatchedCgroups(): Record<string, string[]> {
    return this.#loader?.unmatchedCgroups() ?? {};
  }

  protection(): ProtectStatus | null {
    return this.#protection?.status() ?? null;
  }

  kernelStats(): StatsSnapshot | null {
    const s = this.#session?.stats();
    return s ? { ...s, repeatKeys: this.#repeatKeys } : null;
  }

  /** The counters of the plan's packet rules (tc, XDP and cgroup_skb), by rule id. */
  packetCounts(): Map<number, PacketCount> | null {
    const ids = (this.#plan?.rules ?? [])
      .filter((r) => (r.kind === 'ingress' || r.kind === 'egress') && r.achieved !== 'unavailable')
      .map((r) => r.ruleId);
    return this.#session && ids.length > 0 ? this.#session.packetCounts(ids) : null;
  }

  async start(): Promise<void> {
    if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
      throw new PrivilegeError(
        'bpfgate run needs root (it loads BPF programs and attaches them to kernel hooks)',
      );
    }
    const kernel = this.#parts.kernel;
    // a large policy set is parsed in a worker while this thread probes the kernel: the probe
    // starts once the files are read and the worker runs (or the load is over, for a source
    // that does not say when its parse begins)
    let parsing = () => {};
    const begun = new Promise<void>((resolve) => {
      parsing = resolve;
    });
    const loading = this.#parts.policies.load(parsing);
    await Promise.race([begun, loading.then(noop, noop)]);
    const features = await this.#parts.probe();
    this.#features = features;
    this.#reportKernel(features);
    let plan = await this.#compile(0, undefined, loading);
    this.#reportEnforcement(plan);
    const cgroup = kernel.cgroup(features);

    try {
      this.#pins = kernel.pins;
      this.#foundPins = this.#pins !== null && hasPins(this.#pins);
      const { session, loader } = kernel.open(features, cgroup);
      this.#session = session;
      this.#loader = loader;
      const adopted = session.adoptPinned();
      if (adopted) {
        loader.adopt(adopted.activeGen, adopted.attachments, adopted.exeIds);
        plan = await this.#compile(loader.nextGen(), adopted.exeIds);
        this.#log.info(
          {
            pinRoot: this.#pins?.root,
            activeGen: adopted.activeGen,
            previousTgid: adopted.daemonTgid,
            links: adopted.attachments.map((a) => a.key),
          },
          'adopting the enforcement a previous daemon left pinned',
        );
      }
      await this.#parts.sink.start();
      const pipeline = this.#parts.events(await this.#parts.clock());
      this.#pipeline = pipeline;
      // what the previous daemon reported of the kernel's repeat counts: the rest is this one's to report
      if (adopted) pipeline.primeRepeats(session.repeatsReported());
      pipeline.setPlan(plan, 0);
      session.readEvents(
        (batch) => {
          for (let i = 0; i < batch.count; i++) pipeline.handleRecord(batch.at(i));
        },
        (err, stopped) => {
          if (stopped)
            this.#log.error(
              { err, resumeInMs: stopped.resumeInMs },
              'ring buffer reading stopped: events wait in the ring (and are dropped, counted, when it fills); /healthz reports it until reading resumes',
            );
          else this.#log.error({ err }, 'ring buffer read failed');
        },
        () => this.#log.warn({}, 'ring buffer reading resumed'),
      );
      loader.apply(plan, loader.nextGen());
      pipeline.setUprobeInodes(loader.activeGen() ?? 0, loader.uprobeInodes());
      this.#plan = plan;
      this.#exeWatch.set(Object.keys(plan.exeIds));
      this.#reportPins();
      this.#started = true;
      this.#protection = kernel.protect(session, (refused) =>
        this.#pipeline?.publish(buildTamperEvent(refused, { host: this.#o.host, ids: this.#parts.ids })),
      );
      this.#lastStats = session.stats();
      if (adopted) {
        // drops since the last daemon reported: the ring filled while none read it
        const reported = session.dropsReported();
        const drops = this.#lastStats.ringbufDrops;
        if (reported < drops) {
          this.#log.warn(
            { lost: Number(drops - reported) },
            'ring-buffer records were lost while no daemon read them: reported as a loss event',
          );
          this.#lastStats = { ...this.#lastStats, ringbufDrops: reported };
        }
      }
      this.#statsTimer = setInterval(() => this.#pollStats(), this.#o.statsIntervalMs);
      this.#statsTimer.unref();
      this.#identityTimer = setInterval(() => this.#refreshIdentities(), IDENTITY_CHECK_MS);
      this.#identityTimer.unref();
    } catch (err) {
      await this.stop();
      throw err;
    }
    const { state, msg } = readyMessage(summarize(plan, features), this.#o.audit);
    this.#log.info(
      {
        ready: true,
        state,
        policies: plan.policies.length,
        rules: plan.rules.length,
        programs: this.#loader.attachedPrograms(),
        cgroupAttach: cgroup.attachAt,
        mode: this.#o.audit ? 'audit' : 'enforce',
      },
      msg,
    );
    this.#releaseMemory();
  }

  /** What reading and compiling a set left behind, given back once the caller has its answer. */
  #releaseMemory(): void {
    const release = this.#parts.releaseMemory;
    if (release) setImmediate(release).unref();
  }

  /** The file rules' identities again (a protected file replaced or created since the set was applied). */
  #refreshIdentities(): void {
    if (!this.#loader || !this.#plan) return;
    try {
      const changed = this.#loader.refreshIdentities(this.#plan);
      if (changed > 0)
        this.#log.info({ changed }, 'file identities re-resolved: a protected path names another file now');
    } catch (err) {
      this.#log.warn({ err }, 'file identities could not be re-resolved: the last ones stay');
    }
    this.#refreshExeIdentities();
  }

  /** The named executables' identities again (a binary replaced, created or removed since). */
  #refreshExeIdentities(): void {
    if (!this.#loader) return;
    try {
      const changed = this.#loader.refreshExeIdentities();
      if (changed > 0)
        this.#log.info(
          { changed },
          'executable identities re-resolved: a named executable is another file now',
        );
    } catch (err) {
      this.#log.warn({ err }, 'executable identities could not be re-resolved: the last ones stay');
    }
    this.#reportPins();
  }

  #pinsSaid = '[]';
  #pinsRetry: NodeJS.Timeout | null = null;

  /**
   * Say which pinned executables are not verified (their exceptions do not
   * apply), when that changes. A file that changed just before it was read is
   * measured again shortly, not only at the next periodic check.
   */
  #reportPins(): void {
    const unverified = this.#loader?.unverifiedExecutables() ?? [];
    if (!this.#pinsRetry && unverified.some((u) => u.reason.startsWith('changing'))) {
      this.#pinsRetry = setTimeout(() => {
        this.#pinsRetry = null;
        this.#refreshExeIdentities();
      }, 250);
      this.#pinsRetry.unref();
    }
    const said = JSON.stringify(unverified);
    if (said === this.#pinsSaid) return;
    const before = this.#pinsSaid;
    this.#pinsSaid = said;
    if (unverified.length > 0)
      this.#log.warn(
        { executables: unverified },
        'pinned executables not verified: exceptions that pin their digests do not apply to them until their content is measured with one of those digests',
      );
    else if (before !== '[]')
      this.#log.info({}, 'pinned executables verified: every one has a pinned digest');
  }

  /**
   * Validate and compile the policy files again and swap them in. An invalid
   * set changes nothing: the old one keeps enforcing, the errors are logged
   * and published as a policy_error event. Returns whether the new set is active.
   */
  reload(): Promise<boolean> {
    // reloads never overlap: a reload asked for during one runs after it
    const run = async (): Promise<boolean> => {
      const loader = this.#loader;
      if (!loader || !this.#plan) return false;
      const gen = loader.nextGen();
      let plan: Plan;
      try {
        // every id the kernel was given, those of executables no longer named too: never given to another
        plan = await this.#compile(gen, { ...loader.exeIds(), ...this.#plan.exeIds });
        this.#reportEnforcement(plan);
        // `gen`'s repeat counts belong to the plan it held: reported against it, then deleted
        this.#sweepRepeats(0, gen);
        // records of `gen` can only arrive once apply() flips to it
        this.#pipeline?.setPlan(plan, gen);
        loader.apply(plan, gen);
        this.#pipeline?.setUprobeInodes(gen, loader.uprobeInodes());
        this.#exeWatch.set(Object.keys(plan.exeIds));
        this.#reportPins();
      } catch (err) {
        this.counters.reloadFailures++;
        this.#lastReloadError = err;
        if (err instanceof ValidationError) {
          this.#log.error(
            { errors: err.diagnostics.length },
            `policy reload rejected, the running set stays:\n${err.message}`,
          );
          const event = buildPolicyErrorEvent(err.diagnostics, { host: this.#o.host, ids: this.#parts.ids });
          this.#pipeline?.publish(event);
        } else {
          this.#log.error({ err }, 'policy reload failed, the running set stays');
        }
        return false;
      } finally {
        this.#releaseMemory();
      }
      this.#plan = plan;
      this.#lastReloadError = null;
      this.counters.reloads++;
      return true;
    };
    const next = (this.#reloading ?? Promise.resolve(true)).then(run, run);
    this.#reloading = next;
    return next;
  }

  async stop(): Promise<void> {
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
    if (this.#identityTimer) clearInterval(this.#identityTimer);
    this.#identityTimer = null;
    this.#exeWatch.stop();
    if (this.#pinsRetry) clearTimeout(this.#pinsRetry);
    this.#pinsRetry = null;
    this.#protection?.disarm('orderly stop');
    this.#protection = null;
    // 1. detach: enforcement ends here, unless it is to outlive this daemon (pinned links stay attached)
    const keep = this.#o.keepEnforcing || (this.#foundPins && !this.#started);
    if (keep) this.#loader?.release();
    else this.#loader?.stop();
    this.#loader = null;
    // 2. the ring: what is left in it, then close
    if (this.#session) {
      const pipeline = this.#pipeline;
      try {
        const rest = this.#session.drainEvents();
        if (rest && pipeline) for (let i = 0; i < rest.count; i++) pipeline.handleRecord(rest.at(i));
        if (pipeline) {
          // every count the kernel holds, reported before the maps go (or stay pinned for the next daemon)
          this.#sweepRepeats(0);
          this.#pollStats();
        }
      } catch (err) {
        this.#log.warn({ err }, 'final ring-buffer drain failed');
      }
      this.#session.close();
      this.#session = null;
    }
    if (this.#pins && !keep) {
      try {
        removePins(this.#pins);
      } catch (err) {
        this.#log.warn({ err, pinRoot: this.#pins.root }, 'removing the pins failed');
      }
    }
    // 3. the sinks: what the pipeline still holds, then aggregation, stdout, NATS
    await this.#pipeline?.idle();
    await this.#parts.sink.stop();
  }

  async #compile(
    gen: 0 | 1,
    exeIds: Record<string, number> | undefined,
    loaded: Promise<PolicyResult> = this.#parts.policies.load(),
  ): Promise<Plan> {
    const { set, diagnostics } = await loaded;
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (!set || errors.length > 0) throw new ValidationError(errors.length > 0 ? errors : diagnostics);
    for (const d of diagnostics)
      this.#log.warn({ code: d.code }, `${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.message}`);
    if (!this.#features) throw new Error('features not probed');
    const own = exemptSelf(set, this.#parts.self ?? []);
    if (own.exempted.length > 0)
      this.#log.info(
        { policies: own.exempted, files: this.#parts.self },
        `bpfgate's own runtime (${this.#parts.self?.join(', ')}) may start despite the exec rules of ${own.exempted.join(', ')} (rule ${SELF_RULE_ID})`,
      );
    return compile(own.set, this.#features, {
      gen,
      audit: this.#o.audit,
      interfaces: (name) => this.#parts.kernel.ifIndex(name),
      ...(exeIds ? { exeIds } : {}),
    });
  }

  /** The ladder's rungs on this kernel, and the fix for BPF-LSM where an operator can apply one. */
  #reportKernel(f: FeatureSet): void {
    const rungs = rungsOf(f);
    this.#log.info(
      { kernel: f.kernelRelease, rungs: Object.fromEntries(rungs.map((r) => [r.name, r.available])) },
      `enforcement rungs on this kernel: ${rungsLine(f)}`,
    );
    const lsm = rungs[0]!;
    if (!lsm.available && lsm.fix)
      this.#log.warn({ fix: lsm.fix }, `BPF-LSM: ${lsm.reason}; fix: ${lsm.fix}`);
  }

  /**
   * Promise 1: every rule's achieved enforcement is logged: one summary line
   * (rules by achieved enforcement), one warning per cause of downgrades
   * (the missing kernel feature and the probe's reason, said once, with the
   * rules it weakens, allowlist defaults included), and at debug level one
   * record per policy. A downgrade is fatal when enforcement is required.
   */
  #reportEnforcement(plan: Plan): void {
    const s = summarize(plan, this.#features!);
    this.#log.info(
      { policies: s.policies, rules: s.rules, achieved: s.achieved, downgraded: s.downgraded },
      `${s.policies} ${s.policies === 1 ? 'policy' : 'policies'}, ${s.rules} rules: ${achievedText(s) || 'none'}`,
    );
    for (const g of s.groups) this.#log.warn({ causes: g.causes, rules: g.rules }, groupText(g));
    if (this.#log.isLevelEnabled('debug')) {
      const byPolicy = new Map<string, string[]>();
      for (const r of plan.rules) {
        const list = byPolicy.get(r.policy);
        if (list) list.push(enforcementLine(r));
        else byPolicy.set(r.policy, [enforcementLine(r)]);
      }
      for (const [policy, rules] of byPolicy)
        this.#log.debug({ policy, rules }, `${policy}: ${rules.length} rule(s)`);
    }
    if (s.downgraded > 0 && this.#o.requireEnforcement) {
      const downgraded = plan.rules
        .filter((r) => r.downgraded)
        .map((r) => `${enforcementLine(r)} — ${r.reason}`);
      for (const p of plan.policies)
        for (const d of p.defaults ?? [])
          if (d.downgraded)
            downgraded.push(`${p.name}/default (${d.kind} allowlist): ${d.achieved} — ${d.reason}`);
      throw new EnforcementDowngradeError(downgraded);
    }
  }

  /** Every loss counted since the last poll, by source, as loss events. */
  #pollStats(): void {
    const pipeline = this.#pipeline;
    if (!this.#session || !pipeline) return;
    try {
      const now = this.#session.stats();
      const before = this.#lastStats;
      this.#lastStats = now;
      if (before && now.ringbufDrops > before.ringbufDrops) {
        pipeline.noteLoss('ringbuf', Number(now.ringbufDrops - before.ringbufDrops));
        // kept with the pins: a daemon that adopts them reports only the drops after this
        this.#session.noteDropsReported(now.ringbufDrops);
      }
    } catch (err) {
      this.#log.warn({ err }, 'cannot read the kernel statistics');
    }
    try {
      // records the reader took from the ring but could not hand over (out of memory)
      const lost = this.#session.readerState().lost;
      pipeline.noteLoss('reader', lost - this.#readerLost);
      this.#readerLost = lost;
    } catch (err) {
      this.#log.warn({ err }, 'cannot read the ring reader statistics');
    }
    const stdout = this.#parts.stdout?.stats().dropped ?? 0;
    pipeline.noteLoss('stdout', stdout - this.#stdoutDropped);
    this.#stdoutDropped = stdout;
    this.#sweepRepeats(REPEAT_IDLE_MS);
    pipeline.flushLosses();
  }

  /**
   * The kernel's repeat counts that no record carried (src/events/kernel-repeats.ts),
   * for keys idle for idleMs, as events; then the entries all reported whose
   * process is gone (or, with `retire`, every entry of that generation) are
   * deleted from the kernel.
   */
  #sweepRepeats(idleMs: number, retire?: 0 | 1): void {
    const pipeline = this.#pipeline;
    const session = this.#session;
    if (!pipeline || !session) return;
    try {
      const entries = session.repeatCounts();
      this.#repeatKeys = entries.length;
      const done = new Set(
        pipeline.sweepRepeats(
          entries.map((e) => e.count),
          idleMs,
        ),
      );
      const drop = entries.filter(
        (e) =>
          done.has(e.count) &&
          (retire === undefined ? !processAlive(e.count.key.tgid) : e.count.key.gen === retire),
      );
      if (drop.length > 0) pipeline.forgetRepeats(session.deleteRepeats(drop));
      // kept with the pins: a daemon that adopts them reports only the rest
      session.writeRepeatsReported(pipeline.reportedRepeats());
    } catch (err) {
      this.#log.warn({ err }, 'cannot read the kernel repeat counts');
    }
  }
}
