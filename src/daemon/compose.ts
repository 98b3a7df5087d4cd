// The composition root: the one place that builds the daemon's parts from its
// options and wires them together. Constructors elsewhere only keep their
// arguments; nothing here starts anything (Service.start() and Daemon.start()
// do, in order, and stop in reverse).
//
//   Service ── policy source (files | fleet bucket), metrics endpoint, watch
//     └─ Daemon ── probe, policies → compile → kernel (session, loader, pins, protection)
//          └─ records → EventPipeline → sink: [aggregation] → fan-out: extra outputs, metrics, stdout, NATS

import { realpathSync } from 'node:fs';
import type { FeatureSet } from '../abi/features.ts';
import { type ProtectPlan, protectPlan } from '../abi/protect.ts';
import type { DaemonOptions } from '../config/daemon.ts';
import type { RunConfig } from '../config/resolve.ts';
import { PrivilegeError } from '../errors.ts';
import { measureBootClock } from '../events/clock.ts';
import { IdGenerator } from '../events/id.ts';
import { FleetPolicies } from '../fleet/kv.ts';
import { FilePolicies } from '../fleet/source.ts';
import { trimCHeap } from '../kernel/binding/native.ts';
import { ifIndex } from '../kernel/binding/object.ts';
import { findCgroup2Mount } from '../kernel/cgroups.ts';
import { LiveHostState } from '../kernel/host-state.ts';
import { Loader } from '../kernel/loader.ts';
import { PinLayout } from '../kernel/pins.ts';
import { breakGlass, Protection } from '../kernel/protect.ts';
import { KernelSession } from '../kernel/session.ts';
import type { Logger } from '../log.ts';
import { plaintextCredentials } from '../nats/options.ts';
import { AggregatingSink } from '../sinks/aggregate.ts';
import { LocalSink } from '../sinks/local.ts';
import { NatsSink } from '../sinks/nats.ts';
import { asSink, type EventOutput, Fanout, type Sink } from '../sinks/sink.ts';
import { StdoutSink } from '../sinks/stdout.ts';
import { Daemon, type KernelParts, type PolicySource } from './daemon.ts';
import { MetricsServer } from './http.ts';
import { releaseMemory } from './memory.ts';
import { DaemonMetrics } from './metrics.ts';
import { type Enricher, EventPipeline } from './pipeline.ts';
import { Service } from './service.ts';

export interface DaemonDeps {
  log: Logger;
  probe: () => Promise<FeatureSet>;
  enricher?: Enricher | null;
  /** outputs besides stdout and NATS (the metrics counter, tests, the bench) */
  outputs?: EventOutput[];
  /** where the policy set comes from; default: the options' policy files */
  policies?: PolicySource;
  /** stdout is a terminal (view auto shows text lines there), and whether colours are allowed */
  terminal?: { color: boolean };
}

/** Self-protection's rung on this kernel (protect asked for), or a start-up error that says why it cannot be. */
function protectionPlan(features: FeatureSet): ProtectPlan {
  const plan = protectPlan(features);
  if (plan.rung === null)
    throw new PrivilegeError(`${plan.reason}${plan.fix ? ` (fix: ${plan.fix})` : ''}: start without protect`);
  return plan;
}

/** The kernel side of a daemon with these options. */
function kernelParts(o: DaemonOptions, log: Logger): KernelParts {
  const pins = o.pinRoot ? new PinLayout(o.pinRoot) : null;
  let protect: ProtectPlan | null = null;
  return {
    pins,
    ifIndex,
    cgroup(features) {
      const mount = features.cgroup2.mount ?? findCgroup2Mount();
      if (!mount)
        throw new PrivilegeError('no cgroup v2 mount found: bpfgate needs cgroup v2 to scope policies');
      return { mount, attachAt: o.cgroupAttach ?? mount };
    },
    open(features, cgroup) {
      protect = o.protect ? protectionPlan(features) : null;
      if (o.protect && !pins) throw new PrivilegeError('self-protection needs pins (a pin root)');
      const session = KernelSession.open(features, o.objectPath, {
        pins,
        repeatRecords: o.kernelRecordsPerSecond,
        extraPrograms: protect?.programs.map((p) => p.program) ?? [],
      });
      return { session, loader: new Loader(session, new LiveHostState(cgroup.mount), cgroup.attachAt, log) };
    },
    protect(session, onRefused) {
      if (!protect || !pins) return null;
      const broken = breakGlass();
      if (broken) {
        log.warn({ breakGlass: broken }, 'self-protection NOT armed: break glass');
        return null;
      }
      return Protection.arm(session, protect, pins, log, { onRefused });
    },
  };
}

/** The outputs of a daemon with these options behind one sink, and the NATS sink among them. */
function sinks(
  o: DaemonOptions,
  deps: DaemonDeps,
  ids: IdGenerator,
): { sink: Sink; nats: NatsSink | null; stdout: StdoutSink | null } {
  const log = deps.log;
  const outputs: Sink[] = (deps.outputs ?? []).map(asSink);
  let stdout: StdoutSink | null = null;
  if (o.stdout) {
    const text = o.view === 'text' || (o.view === 'auto' && deps.terminal !== undefined);
    stdout = new StdoutSink({
      format: o.format,
      view: text ? 'text' : 'json',
      color: text && deps.terminal?.color === true,
    });
    outputs.push(stdout);
  }
  if (o.eventsSocket) outputs.push(new LocalSink(o.eventsSocket, log.child({ component: 'local' })));
  const nats = o.nats
    ? new NatsSink(o.nats, { host: o.host, ids, log: log.child({ component: 'nats' }) })
    : null;
  if (nats) outputs.push(nats);
  const all = new Fanout(outputs);
  return {
    sink: o.aggregateWindowMs > 0 ? new AggregatingSink(o.aggregateWindowMs, all) : all,
    nats,
    stdout,
  };
}

/** The files of bpfgate's own runtime: the Node.js running it, as started and resolved. */
function selfExecutables(): string[] {
  const out = [process.execPath];
  try {
    out.push(realpathSync(process.execPath));
  } catch {}
  return [...new Set(out)];
}

/** A daemon with every part built from its options. */
export function composeDaemon(o: DaemonOptions, deps: DaemonDeps): Daemon {
  const daemonLog = deps.log.child({ component: 'daemon' });
  const ids = new IdGenerator();
  const { sink, nats, stdout } = sinks(o, deps, ids);
  return new Daemon(o, {
    log: deps.log,
    probe: deps.probe,
    policies: deps.policies ?? new FilePolicies(o.policyPaths, daemonLog),
    kernel: kernelParts(o, daemonLog),
    sink,
    nats,
    stdout,
    ids,
    clock: () => measureBootClock(),
    self: selfExecutables(),
    releaseMemory: () => releaseMemory(trimCHeap),
    events: (clock) =>
      new EventPipeline({
        host: o.host,
        mode: o.audit ? 'audit' : 'enforce',
        clock,
        ids,
        outputs: [sink],
        enricher: deps.enricher ?? null,
        log: deps.log.child({ component: 'events' }),
      }),
  });
}

/** `bpfgate run`'s service for a resolved configuration: policy source, daemon, metrics endpoint. */
export function composeService(config: RunConfig, deps: Omit<DaemonDeps, 'policies'>): Service {
  const log = deps.log.child({ component: 'service' });
  // credentials over plaintext: a warning here, an error with requireTls (refused by resolveConfig)
  const nats = config.daemon.nats;
  for (const plain of new Set([
    nats && plaintextCredentials(nats.servers, nats.auth),
    config.fleet && plaintextCredentials(config.fleet.servers, config.fleet.auth),
  ]))
    if (plain) log.warn(plain);
  const metrics = new DaemonMetrics();
  // the daemon reads the policy source the service opens at start (and closes at stop)
  let service: Service | null = null;
  const daemon = composeDaemon(config.daemon, {
    ...deps,
    outputs: [...(deps.outputs ?? []), metrics.output()],
    policies: {
      load: (parsing) => {
        const source = service?.policies;
        if (!source) throw new Error('the policy source is not open');
        return source.load(parsing);
      },
    },
  });
  metrics.observe(daemon);
  const fleet = config.fleet;
  service = new Service(config, {
    log,
    daemon,
    metrics,
    openPolicies: async () =>
      fleet
        ? await FleetPolicies.open(fleet, { host: config.daemon.host, mode: daemon.mode, log })
        : new FilePolicies(config.daemon.policyPaths, log),
    http: () => new MetricsServer(metrics, daemon, log),
  });
  return service;
}
