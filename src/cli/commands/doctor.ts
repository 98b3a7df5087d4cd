// bpfgate doctor [--json] [--features FILE|lsm|fmod-ret|no-lsm]: probe this
// kernel (or read a feature file) and print what it can do (with the fix for
// what an operator can fix, and the verifier's words for a program that did
// not load), the ladder's rungs, the BPF settings of the kernel, and the
// enforcement matrix, what a rule of each kind achieves there. Exit 0 when the
// probe worked, even with features missing (doctor reports, it does not
// judge); 2 usage; 3 missing privileges; 4 runtime error (object or addon
// missing).
import { CGROUP_HOOKS, type Feature, type FeatureSet } from '../../abi/features.ts';
import { protectPlan, protectSummary } from '../../abi/protect.ts';
import { parseCommandArgs } from '../../args.ts';
import { FeatureFileError } from '../../compiler/errors.ts';
import { FEATURES_SPEC, readFeatureSpec, SHIPPED_FEATURES } from '../../compiler/feature-file.ts';
import {
  type EnforcementMatrix,
  enforcementMatrix,
  MATRIX_ACTIONS,
  type MatrixCell,
} from '../../doctor/matrix.ts';
import { rungsLine } from '../../doctor/rungs.ts';
import { UsageError } from '../../errors.ts';
import { probeFeatures } from '../../kernel/probe.ts';
import { type KernelSetting, readKernelSettings } from '../../kernel/settings.ts';

const HELP = `usage: bpfgate doctor [--json] [--features ${FEATURES_SPEC}]

Probe this kernel by loading bpfgate's own programs, one per hook family, and
show what it can do (and how to fix what an operator can fix), the ladder's
rungs, the kernel's BPF settings, and what a rule of each kind achieves on it
(block, kill, kill-after, audit or unavailable), by which hooks and why.

  --json            {features, settings, matrix, protection} as JSON
  --features SPEC   show a feature file (or ${Object.keys(SHIPPED_FEATURES)
    .map((k) => `'${k}'`)
    .join(', ')}: the shipped ones) instead of probing (no settings then)
  -h, --help        show this help

Exit status: 0 probed (missing features are reported, not failures), 2 usage
error, 3 missing privileges (the probe needs root), 4 runtime error.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  features: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Display names of the features, in display order. */
const FEATURE_LABELS: ReadonlyArray<[keyof FeatureSet, string]> = [
  ['btf', 'BTF'],
  ['bpffs', 'bpffs'],
  ['cgroup2', 'cgroup v2'],
  ['lsm', 'BPF-LSM'],
  ['lsmDPath', 'bpf_d_path in LSM'],
  ['exeContent', 'file hashing in LSM (exceptions by SHA-256 alone)'],
  ['fmodRet', 'fmod_ret'],
  ['kprobes', 'kprobes'],
  ['uprobes', 'uprobes'],
  ['fentry', 'fentry'],
  ['tracepoints', 'tracepoints'],
  ['sendSignal', 'bpf_send_signal'],
  ['tcx', 'tc (tcx)'],
  ['xdp', 'XDP (native, generic)'],
  ['cgroupSkb', 'cgroup_skb (packets of scoped sockets)'],
];

function padTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** ✓ available, ✗ not, - not tried (nothing on this kernel needs it). */
function mark(x: Feature): string {
  if (x.probed === false) return '-';
  return x.available ? '✓' : '✗';
}

/** A feature's row, and the lines under it: the fix, the verifier's words. */
function featureRow(label: string, x: Feature): { row: string[]; more: string[] } {
  return {
    row: [`  ${mark(x)}`, label, x.reason],
    more: [...(x.fix ? [`fix: ${x.fix}`] : []), ...(x.verifier ?? []).map((l) => `verifier: ${l}`)],
  };
}

/** The fmod_ret functions: how many are attachable, and each one that is not. */
function fmodRetRows(f: FeatureSet): { row: string[]; more: string[] }[] {
  const hooks = Object.entries(f.fmodRetHooks);
  if (hooks.length === 0) return [];
  const ok = hooks.filter(([, x]) => x.available).length;
  const all: Feature = {
    available: ok === hooks.length,
    reason: `${ok} of ${hooks.length} security_* functions of the fmod_ret programs are in the kernel's BTF`,
  };
  return [
    featureRow('fmod_ret functions', all),
    ...hooks.filter(([, x]) => !x.available).map(([fn, x]) => featureRow(`  ${fn}`, x)),
  ];
}

/**
 * The feature list: one line per feature, ✓ or ✗ and what the probe saw,
 * with the fix and the verifier's words under it; then the ladder's rungs.
 */
export function formatFeatures(f: FeatureSet): string {
  const entries = FEATURE_LABELS.flatMap(([key, label]) => {
    // tcx and xdp are absent from older feature files
    const x = (f[key] as Feature | undefined) ?? { available: false, reason: 'not in this feature set' };
    const one = featureRow(label, x);
    return key === 'fmodRet' ? [one, ...fmodRetRows(f)] : [one];
  });
  for (const h of CGROUP_HOOKS) entries.push(featureRow(`cgroup/${h}`, f.cgroupHooks[h]));
  const lines = padTable(entries.map((e) => e.row));
  // the lines under a feature start where its reason does
  const width =
    Math.max(...entries.map((e) => e.row[0]!.length)) +
    2 +
    Math.max(...entries.map((e) => e.row[1]!.length)) +
    2;
  const out = entries.flatMap((e, i) => [lines[i]!, ...e.more.map((m) => `${' '.repeat(width)}${m}`)]);
  return `features: ${f.name} (kernel ${f.kernelRelease})\n${out.join('\n')}\nenforcement rungs: ${rungsLine(f)}\n`;
}

/** Which rung self-protection (protect: true) uses here, what it could not arm, or why it cannot start. */
export function formatProtection(f: FeatureSet): string {
  const plan = protectPlan(f);
  const fix = plan.rung === null && plan.fix ? `\n  fix: ${plan.fix}` : '';
  return `self-protection: ${protectSummary(plan)}${fix}\n`;
}

/** The kernel's BPF settings: name, value, meaning. */
export function formatSettings(settings: readonly KernelSetting[]): string {
  const rows = settings.map((x) => [`  ${x.name}`, x.value ?? '-', x.meaning]);
  return `kernel settings:\n${padTable(rows).join('\n')}\n`;
}

function cellText(c: MatrixCell): string {
  if (c.achieved === 'not-allowed') return 'not allowed';
  const how = c.mechanism ? `${c.achieved} (${c.mechanism})` : c.achieved;
  return c.downgraded ? `${how} !` : how;
}

/** The matrix as a table (kind × asked action), then each cell's hooks and reason. */
export function formatMatrix(m: EnforcementMatrix): string {
  const rows: string[][] = [
    ['rule', ...MATRIX_ACTIONS.map((a) => `asked ${a}`)],
    ['----', ...MATRIX_ACTIONS.map((a) => '-'.repeat(`asked ${a}`.length))],
  ];
  for (const r of m.rows) rows.push([r.rule, ...MATRIX_ACTIONS.map((a) => cellText(r[a]))]);
  const out = [
    `enforcement matrix: what a rule of each kind achieves on ${m.features}`,
    ...padTable(rows).map((l) => `  ${l}`),
    '  ! weaker than asked, or part of what the rule names has no hook here',
    '',
    'how and why (the representative rule of each kind, as compile --explain sees it):',
  ];
  for (const r of m.rows) {
    out.push(`  ${r.rule}  kind: ${r.kind}, match: ${r.match}`);
    for (const a of MATRIX_ACTIONS) {
      const c = r[a];
      const via = c.hooks.length > 0 ? ` via ${c.hooks.join(', ')}` : '';
      out.push(`    ${a.padEnd(5)}  ${cellText(c)}${via}: ${c.reason}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function parse(args: string[]) {
  return parseCommandArgs('doctor', args, OPTIONS) as {
    values: { json?: boolean; features?: string; help?: boolean };
  };
}

function readFeatures(spec: string): FeatureSet {
  try {
    return readFeatureSpec(spec).features;
  } catch (err) {
    if (err instanceof FeatureFileError) throw new UsageError(`--features: ${err.message}`);
    throw err;
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const probing = values.features === undefined;
  const features = probing ? await probeFeatures() : readFeatures(values.features!);
  const settings = probing ? readKernelSettings() : null;
  const matrix = enforcementMatrix(features);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ features, ...(settings ? { settings } : {}), matrix, protection: protectPlan(features) }, null, 2)}\n`,
    );
    return 0;
  }
  const kernel = settings ? `\n${formatSettings(settings)}` : '';
  process.stdout.write(
    `${formatFeatures(features)}${formatProtection(features)}${kernel}\n${formatMatrix(matrix)}`,
  );
  return 0;
}
