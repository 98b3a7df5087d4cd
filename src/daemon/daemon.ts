// The daemon: policies → plan → kernel, and kernel records → events → outputs.
// start() brings everything up in order and throws (having undone what it
// did) on any failure; stop() takes it down in reverse: detach, drain the
// ring, flush the outputs. reload() swaps a new policy set in atomically or
// keeps enforcing the old one.
import os from 'node:os';
import type { FeatureSet } from '../abi/features.ts';
import type { Plan, PlannedRule } from '../abi/plan.ts';
import { compile } from '../compiler/compile.ts';
import { EnforcementDowngradeError, PrivilegeError, ValidationError } from '../errors.ts';
import { Aggregator } from '../events/aggregate.ts';
import { buildPolicyErrorEvent } from '../events/build.ts';
import { measureBootClock } from '../events/clock.ts';
import { IdGenerator } from '../events/id.ts';
import { findCgroup2Mount } from '../kernel/cgroups.ts';
import { LiveHostState } from '../kernel/host-state.ts';
import { Loader } from '../kernel/loader.ts';
import { DEFAULT_PIN_ROOT, hasPins, PinLayout, removePins } from '../kernel/pins.ts';
import { breakGlass, PROTECT_PROGRAMS, Protection } from '../kernel/protect.ts';
import { KernelSession, type StatsSnapshot } from '../kernel/session.ts';
import type { Logger } from '../log.ts';
import { loadPolicyFiles, type PolicyResult } from '../policy/index.ts';
import { NatsSink } from '../sinks/nats.ts';
import type { SinkOptions } from '../sinks/options.ts';
import { type EventFormat, NatsOutput, StdoutOutput } from './outputs.ts';
import { type Enricher, type EventOutput, EventPipeline } from './pipeline.ts';

export interface DaemonOptions {
  policyPaths: string[];
  /** every policy in audit mode: nothing is denied or killed, outcomes are would-* */
  audit: boolean;
  /** refuse to start when any rule would be enforced more weakly than asked */
  requireEnforcement: boolean;
  /** cgroup v2 directory the cgroup programs attach to; null: the cgroup2 root */
  cgroupAttach: string | null;
  objectPath?: string;
  format: EventFormat;
  stdout: boolean;
  nats: Readonly<SinkOptions> | null;
  host: string;
  statsIntervalMs: number;
  /** identical violations within this window become one event with a count; 0: every event */
  aggregateWindowMs: number;
  /** bpffs folder every map and link is pinned under (docs/persistence.md); null: nothing pinned */
  pinRoot: string | null;
  /** an orderly stop leaves the pins: enforcement goes on until the next daemon adopts it (or bpfgate unload) */
  keepEnforcing: boolean;
  /** self-protection (BPF-LSM only): no other process may detach, unpin, write, signal or ptrace bpfgate */
  protect: boolean;
}

export interface DaemonDeps {
  log: Logger;
  probe: () => Promise<FeatureSet>;
  enricher?: Enricher | null;
  /** extra outputs (tests) */
  outputs?: EventOutput[];
  /** where the policy set comes from (a fleet bucket, src/fleet/); default: the policyPaths files */
  policies?: { load(): Promise<PolicyResult> };
}

export function defaultDaemonOptions(): DaemonOptions {
  return {
    policyPaths: ['policies/'],
    audit: false,
    requireEnforcement: false,
    cgroupAttach: null,
    format: 'native',
    stdout: true,
    nats: null,
    host: os.hostname(),
    statsIntervalMs: 1000,
    aggregateWindowMs: 0,
    pinRoot: DEFAULT_PIN_ROOT,
    keepEnforcing: false,
    protect: false,
  };
}

/** What the daemon achieves for a rule, in one line, for the start-up log. */
function enforcementLine(r: PlannedRule): string {
  const how = r.mechanism ? `${r.achieved} via ${r.mechanism}` : r.achieved;
  return `${r.policy}/${r.rule} (${r.kind}, ${r.action}${r.dryRun ? ', dry run' : ''}): ${how}`;
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #deps: DaemonDeps;
  readonly #log: Logger;
  #features: FeatureSet | null = null;
  #session: KernelSession | null = null;
  #loader: Loader | null = null;
  #pipeline: EventPipeline | null = null;
  #sink: NatsSink | null = null;
  #plan: Plan | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #lastStats: StatsSnapshot | null = null;
  #ids = new IdGenerator();
  #aggregator: Aggregator | null = null;
  #reloading: Promise<boolean> | null = null;
  #pins: PinLayout | null = null;
  /** a previous daemon's pins were there at start: a failed start must leave them enforcing */
  #foundPins = false;
  #started = false;
  #protection: Protection | null = null;
  readonly counters = { reloads: 0, reloadFailures: 0 };
  #lastReloadError: unknown = null;

  constructor(options: DaemonOptions, deps: DaemonDeps) {
    this.#o = options;
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'daemon' });
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
    return this.#sink?.stats() ?? null;
  }

  kernelStats(): StatsSnapshot | null {
    return this.#session?.stats() ?? null;
  }

  async start(): Promise<void> {
    if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
      throw new PrivilegeError(
        'bpfgate run needs root (it loads BPF programs and attaches them to kernel hooks)',
      );
    }
    const features = await this.#deps.probe();
    this.#features = features;
    let plan = await this.#compile(0, undefined);
    this.#reportEnforcement(plan);

    const mount = features.cgroup2.mount ?? findCgroup2Mount();
    if (!mount)
      throw new PrivilegeError('no cgroup v2 mount found: bpfgate needs cgroup v2 to scope policies');
    const attachAt = this.#o.cgroupAttach ?? mount;

    try {
      this.#pins = this.#o.pinRoot ? new PinLayout(this.#o.pinRoot) : null;
      this.#foundPins = this.#pins !== null && hasPins(this.#pins);
      if (this.#o.protect && !features.lsm.available)
        throw new PrivilegeError(
          `self-protection needs BPF-LSM, which this kernel lacks (${features.lsm.reason}): start without protect`,
        );
      if (this.#o.protect && !this.#pins) throw new PrivilegeError('self-protection needs pins (a pin root)');
      this.#session = KernelSession.open(features, this.#o.objectPath, {
        pins: this.#pins,
        extraPrograms: this.#o.protect ? PROTECT_PROGRAMS : [],
      });
      this.#loader = new Loader(this.#session, new LiveHostState(mount), attachAt, this.#log);
      const adopted = this.#session.adoptPinned();
      if (adopted) {
        this.#loader.adopt(adopted.activeGen, adopted.attachments, adopted.exeIds);
        plan = await this.#compile(this.#loader.nextGen(), adopted.exeIds);
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
      const outputs: EventOutput[] = [...(this.#deps.outputs ?? [])];
      if (this.#o.stdout) outputs.push(new StdoutOutput(this.#o.format));
      if (this.#o.nats) {
        this.#sink = new NatsSink(this.#o.nats, {
          host: this.#o.host,
          ids: this.#ids,
          log: this.#deps.log.child({ component: 'nats' }),
        });
        await this.#sink.start();
        outputs.push(new NatsOutput(this.#sink));
      }
      let delivered: EventOutput[] = outputs;
      if (this.#o.aggregateWindowMs > 0) {
        const agg = new Aggregator({ windowMs: this.#o.aggregateWindowMs }, (e) => {
          for (const o of outputs) o.publish(e);
        });
        agg.start();
        this.#aggregator = agg;
        delivered = [{ publish: (e) => agg.push(e) }];
      }
      this.#pipeline = new EventPipeline({
        host: this.#o.host,
        mode: this.#o.audit ? 'audit' : 'enforce',
        clock: await measureBootClock(),
        ids: this.#ids,
        outputs: delivered,
        enricher: this.#deps.enricher ?? null,
        log: this.#deps.log.child({ component: 'events' }),
      });
      const pipeline = this.#pipeline;
      pipeline.setPlan(plan, 0);
      this.#session.readEvents(
        (batch) => {
          for (let i = 0; i < batch.count; i++) pipeline.handleRecord(batch.at(i));
        },
        (err) => this.#log.error({ err }, 'ring buffer read failed'),
      );
      this.#loader.apply(plan, this.#loader.nextGen());
      this.#plan = plan;
      this.#started = true;
      if (this.#o.protect && this.#pins) {
        const broken = breakGlass();
        if (broken) this.#log.warn({ breakGlass: broken }, 'self-protection NOT armed: break glass');
        else this.#protection = Protection.arm(this.#session, this.#pins, this.#log);
      }
      this.#lastStats = this.#session.stats();
      this.#statsTimer = setInterval(() => this.#pollStats(), this.#o.statsIntervalMs);
      this.#statsTimer.unref();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#log.info(
      {
        policies: plan.policies.length,
        rules: plan.rules.length,
        programs: this.#loader.attachedPrograms(),
        cgroupAttach: attachAt,
        mode: this.#o.audit ? 'audit' : 'enforce',
      },
      'bpfgate is enforcing',
    );
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
        plan = await this.#compile(gen, this.#plan.exeIds);
        this.#reportEnforcement(plan);
        // records of `gen` can only arrive once apply() flips to it
        this.#pipeline?.setPlan(plan, gen);
        loader.apply(plan, gen);
      } catch (err) {
        this.counters.reloadFailures++;
        this.#lastReloadError = err;
        if (err instanceof ValidationError) {
          this.#log.error(
            { errors: err.diagnostics.length },
            `policy reload rejected, the running set stays:\n${err.message}`,
          );
          const event = buildPolicyErrorEvent(err.diagnostics, { host: this.#o.host, ids: this.#ids });
          this.#pipeline?.publish(event);
        } else {
          this.#log.error({ err }, 'policy reload failed, the running set stays');
        }
        return false;
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
        if (pipeline) this.#pollStats();
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
    // 3. outputs
    await this.#pipeline?.idle();
    this.#aggregator?.stop();
    this.#aggregator = null;
    await this.#sink?.stop();
    this.#sink = null;
  }

  async #compile(gen: 0 | 1, exeIds: Record<string, number> | undefined): Promise<Plan> {
    const { set, diagnostics } = await (this.#deps.policies?.load() ?? loadPolicyFiles(this.#o.policyPaths));
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (!set || errors.length > 0) throw new ValidationError(errors.length > 0 ? errors : diagnostics);
    for (const d of diagnostics)
      this.#log.warn({ code: d.code }, `${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.message}`);
    if (!this.#features) throw new Error('features not probed');
    return compile(set, this.#features, { gen, audit: this.#o.audit, ...(exeIds ? { exeIds } : {}) });
  }

  /**
   * Promise 1: every rule's achieved enforcement is logged; a downgrade is a
   * warning of its own, or fatal when required. One info record per policy
   * lists its rules' achieved enforcement (a record per rule cost seconds of
   * synchronous log writes at 10,000 rules).
   */
  #reportEnforcement(plan: Plan): void {
    const downgraded: string[] = [];
    const byPolicy = new Map<string, PlannedRule[]>();
    for (const r of plan.rules) {
      const list = byPolicy.get(r.policy);
      if (list) list.push(r);
      else byPolicy.set(r.policy, [r]);
      if (r.downgraded) {
        downgraded.push(`${enforcementLine(r)} — ${r.reason}`);
        this.#log.warn(
          { policy: r.policy, rule: r.rule, asked: r.action, achieved: r.achieved },
          `downgraded: ${enforcementLine(r)} — ${r.reason}`,
        );
      }
    }
    for (const [policy, rules] of byPolicy) {
      // achieved enforcement -> the rules (kind/id) that get it
      const achieved: Record<string, string[]> = {};
      for (const r of rules) {
        const how = `${r.action}${r.dryRun ? ' (dry run)' : ''} -> ${r.mechanism ? `${r.achieved} via ${r.mechanism}` : r.achieved}`;
        const ids = achieved[how];
        if (ids) ids.push(`${r.kind}/${r.rule}`);
        else achieved[how] = [`${r.kind}/${r.rule}`];
      }
      const summary = Object.entries(achieved)
        .map(([how, ids]) => `${ids.length} ${how}`)
        .join(', ');
      this.#log.info(
        { policy, rules: rules.length, achieved },
        `${policy}: ${rules.length} rule(s): ${summary}`,
      );
    }
    for (const p of plan.policies) {
      for (const d of p.defaults ?? []) {
        if (d.downgraded)
          downgraded.push(`${p.name}/default (${d.kind} allowlist): ${d.achieved} — ${d.reason}`);
      }
    }
    if (downgraded.length > 0 && this.#o.requireEnforcement) throw new EnforcementDowngradeError(downgraded);
  }

  #pollStats(): void {
    if (!this.#session || !this.#pipeline) return;
    const now = this.#session.stats();
    const before = this.#lastStats;
    this.#lastStats = now;
    if (before && now.ringbufDrops > before.ringbufDrops) {
      this.#pipeline.reportLoss({ source: 'ringbuf', count: Number(now.ringbufDrops - before.ringbufDrops) });
    }
  }
}
