// The targets table: reads bench/results/*.json (whatever the last runs wrote)
// and writes bench/results/targets.md: each target, what was measured, met or
// missed, and for a missed one the bottleneck the profiles found
// (docs/performance.md has the evidence). `node bench/targets.ts`; also the
// last step of `npm run bench`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const RESULTS = new URL('./results/', import.meta.url);

interface PerProgram {
  /** guest rows: the rung (lsm, fmod_ret) */
  rung?: string;
  hook: string;
  rules: number;
  call: 'miss' | 'hit';
  bpfgateNs: number;
  ratio: number;
}
interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
}
interface Result {
  date: string;
  commit?: string | null;
  machine: Machine;
  perProgram?: PerProgram[];
  results?: Record<string, unknown>[];
}

function read(name: string): Result | null {
  const url = new URL(`${name}.json`, RESULTS);
  return existsSync(url) ? (JSON.parse(readFileSync(url, 'utf8')) as Result) : null;
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null; // null: not measured
  bottleneck: string;
}

const range = (xs: number[], digits = 2): string =>
  xs.length === 0 ? 'n/a' : `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

export function targetRows(r: {
  kernel: Result | null;
  pipeline: Result | null;
  load: Result | null;
  flood?: Result | null;
  macro?: Result | null;
  /** the emulated guest: per-program cost of the LSM and fmod_ret rungs, and the macro workloads */
  guest?: Result | null;
  macroGuest?: Result | null;
}): TargetRow[] {
  const rows: TargetRow[] = [];
  const pp = r.kernel?.perProgram ?? [];
  const ratios = pp.filter((p) => p.rules === 1).map((p) => p.ratio);
  const gp = (r.guest?.perProgram ?? []).filter((p) => p.rules === 1);
  const rungText = (rung: string, label: string) => {
    const xs = gp.filter((p) => p.rung === rung);
    const by = (call: string) => xs.filter((p) => p.call === call).map((p) => p.ratio);
    return xs.length
      ? `; ${label} (guest, emulated) miss ×${range(by('miss'), 0)}, hit ×${range(by('hit'), 0)}`
      : '';
  };
  rows.push({
    target: 'per-run cost ≤ 2× the null program on the same hook',
    measured: pp.length
      ? `bpfgate ÷ null ×${range(ratios, 1)} (1 rule, miss and hit, this host)${rungText('lsm', 'BPF-LSM')}${rungText('fmod_ret', 'fmod_ret')}`
      : 'not measured',
    met: pp.length ? Math.max(...ratios, ...gp.map((p) => p.ratio)) <= 2 : null,
    bottleneck:
      'a miss is the scope (state, config, cached cgroup part, uid, exe id) and the rule lookups, each a hash or LPM lookup of 15–25 ns against a null program that makes none; a hit adds the repeat check and the 512-byte record. The cgroup walk is cached (bg_scope_cache) and records no longer wake the reader each. In the guest the LSM and fmod_ret programs also build the path (bpf_d_path, emulated) before deciding',
  });
  const flat: number[] = [];
  for (const p of pp.filter((x) => x.rules === 1)) {
    const big = pp.find((x) => x.hook === p.hook && x.call === p.call && x.rules === 10000);
    if (big) flat.push(big.bpfgateNs / p.bpfgateNs);
  }
  rows.push({
    target: '10,000 rules within 10 % of 1 rule',
    measured: flat.length ? `cost(10,000) ÷ cost(1) = ${range(flat)}` : 'not measured',
    met: flat.length ? flat.every((x) => x <= 1.1) : null,
    bottleneck: 'exec hits rebuild the path for the record; the rest is noise on a shared machine',
  });
  const pipe = (r.pipeline?.results ?? []) as {
    offeredRate: number;
    inStream: number;
    offered: number;
    lost: number;
    ackedPerSecond: number;
    bpfgateOverBare?: number | null;
    bare?: { ackedPerSecond: number } | null;
  }[];
  const top = pipe.find((x) => x.offeredRate === 100_000);
  rows.push({
    target: '≥ 100,000 violations/s acknowledged with no loss',
    measured: top
      ? `at 100,000/s offered: ${top.inStream} of ${top.offered} in the stream, ${top.lost} lost (all counted)`
      : 'not measured',
    met: top ? top.lost === 0 && top.ackedPerSecond >= 100_000 : null,
    bottleneck: 'user-space CPU per event (NATS publish encoding, JSON, event building)',
  });
  rows.push({
    target: 'bpfgate ÷ a bare @nats-io/jetstream publisher ≥ 0.8 (same count, size and ack window)',
    measured:
      top?.bare && top.bpfgateOverBare != null
        ? `at 100,000/s offered: ${top.ackedPerSecond}/s ÷ ${top.bare.ackedPerSecond}/s = ${top.bpfgateOverBare}`
        : 'not measured',
    met: top?.bpfgateOverBare != null ? top.bpfgateOverBare >= 0.8 : null,
    bottleneck:
      'the daemon shares the machine with the load generator and nats-server (see docs/performance.md)',
  });
  const flood = (
    (r.flood?.results ?? []) as {
      kernelRecordsPerSecond: number;
      attempts: number;
      recordsWritten: number;
      countedInKernel: number;
      ringbufDrops: number;
      accountedExactly: boolean;
      daemonPeakRssMiB: number;
      healthzMs: { max: number };
    }[]
  ).find((x) => x.kernelRecordsPerSecond > 0);
  rows.push({
    target:
      'a flood of one denied violation: /healthz within 100 ms, < 200 MB, counts add up to the attempts',
    measured: flood
      ? `${flood.attempts} attempts: ${flood.recordsWritten} records + ${flood.countedInKernel} counted in the kernel, ${flood.ringbufDrops} drops, ${flood.accountedExactly ? 'every attempt accounted' : 'NOT all accounted'}; /healthz max ${flood.healthzMs.max} ms; peak ${flood.daemonPeakRssMiB} MiB`
      : 'not measured',
    met: flood
      ? flood.accountedExactly && flood.healthzMs.max < 100 && flood.daemonPeakRssMiB * 2 ** 20 < 200e6
      : null,
    bottleneck:
      'see bench/results/flood.json: the row without kernel counting shows what a record per attempt costs',
  });
  const macro = (r.macro?.results ?? []) as { workload: string; ratio: number }[];
  const macroGuest = (r.macroGuest?.results ?? []) as { workload: string; ratio: number }[];
  const both = [...macro, ...macroGuest];
  rows.push({
    target:
      'everyday work with the starter policies enforcing at most 3 % slower (execs, opens, connects, untar), on the host and in the guest',
    measured: macro.length
      ? `host: ${macro.map((m) => `${m.workload} ×${m.ratio}`).join(', ')}; guest (emulated, BPF-LSM, a tenth of each): ${
          macroGuest.length ? macroGuest.map((m) => `${m.workload} ×${m.ratio}`).join(', ') : 'not measured'
        }`
      : 'not measured',
    // met only when both are measured and within 3 %
    met: both.some((m) => m.ratio > 1.03) ? false : macro.length && macroGuest.length ? true : null,
    bottleneck:
      'without BPF-LSM (this host) file rules are decided in sys_enter: a null program there alone costs the open workload ×1.1, and each open pays one LPM-trie lookup per policy with file rules; a TCP connection passes ten packets through the cgroup_skb programs of the inbound audit policy (macro.json, kernelTime). In the guest with BPF-LSM the LSM hooks of each file operation build and look up its path again: an untarred file passes four (chown, mknod, open, chmod), the loader of an exec opens files under /etc and /lib, prefixes starter rules name (macro-guest.json, kernelTime)',
  });
  const load = (r.load?.results ?? []) as {
    rules: number;
    processToEnforcingMs: number;
    rssBytes: number;
    rssAfterReloadsBytes?: number;
    rssSettledBytes?: number;
  }[];
  const tenK = load.find((x) => x.rules === 10_000);
  rows.push({
    target: '10,000 rules enforced within 1 s of start',
    measured: tenK ? `${(tenK.processToEnforcingMs / 1000).toFixed(2)} s from process start` : 'not measured',
    met: tenK ? tenK.processToEnforcingMs <= 1000 : null,
    bottleneck:
      "parsing YAML with source positions (the `yaml` library: 1.3 s for 10,000 rules in its worker, beside the kernel probe), compiling (0.3 s), then loading and verifying the object (0.5 s); Node's own start (0.3 s)",
  });
  rows.push({
    target: '< 150 MB resident with 10,000 rules',
    measured: tenK
      ? `${(tenK.rssBytes / 2 ** 20).toFixed(0)} MiB after start${tenK.rssAfterReloadsBytes ? `, ${(tenK.rssAfterReloadsBytes / 2 ** 20).toFixed(0)} MiB after 10 reloads` : ''}${tenK.rssSettledBytes ? ` (${(tenK.rssSettledBytes / 2 ** 20).toFixed(0)} MiB once idle 12 s)` : ''}`
      : 'not measured',
    met: tenK ? Math.max(tenK.rssBytes, tenK.rssAfterReloadsBytes ?? 0) < 150 * 2 ** 20 : null,
    bottleneck:
      "the parse worker's pages stay with the process until V8's memory reducer returns them (after ~8 s idle), and compiling grows the main heap; a full collection and malloc_trim follow each start and reload. Node with bpfgate's modules alone is ~95-110 MiB",
  });
  return rows;
}

export function targetsMarkdown(rows: TargetRow[], machine: Machine | undefined, dates: string[]): string {
  const head = machine
    ? `Machine: ${machine.cpu}, ${machine.cores} cores, kernel ${machine.kernel}, Node ${machine.node}. Results (date, commit) of ${dates.join(', ')}.\n\n`
    : '';
  const lines = rows.map(
    (t) =>
      `| ${t.target} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'met' : 'missed'} | ${t.met ? '' : t.bottleneck} |`,
  );
  return `# bpfgate benchmark targets\n\n${head}| target | measured | status | measured bottleneck |\n| --- | --- | --- | --- |\n${lines.join('\n')}\n`;
}

export async function run(): Promise<void> {
  const kernel = read('kernel');
  const pipeline = read('pipeline');
  const load = read('load');
  const flood = read('flood');
  const macro = read('macro');
  const guest = read('guest');
  const macroGuest = read('macro-guest');
  const rows = targetRows({ kernel, pipeline, load, flood, macro, guest, macroGuest });
  const present = [kernel, pipeline, load, flood, macro, guest, macroGuest].filter(
    (x): x is Result => x !== null,
  );
  const md = targetsMarkdown(
    rows,
    present[0]?.machine,
    present.map((x) => `${x.date} (${x.commit ?? 'commit not recorded'})`),
  );
  writeFileSync(new URL('targets.md', RESULTS), md);
  process.stdout.write(md);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
