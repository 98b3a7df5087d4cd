// bpfgate doctor [--json] [--features FILE|lsm|no-lsm]: probe this kernel (or
// read a feature file) and print what it can do and the enforcement matrix,
// what a rule of each kind achieves there. Exit 0 when the probe worked, even
// with features missing (doctor reports, it does not judge); 2 usage; 3
// missing privileges; 4 runtime error (object or addon missing).
import { parseArgs } from 'node:util';
import { CGROUP_HOOKS, type Feature, type FeatureSet } from '../../abi/features.ts';
import { FeatureFileError } from '../../compiler/errors.ts';
import { loadFeatureFile, SHIPPED_FEATURES } from '../../compiler/feature-file.ts';
import {
  type EnforcementMatrix,
  enforcementMatrix,
  MATRIX_ACTIONS,
  type MatrixCell,
} from '../../doctor/matrix.ts';
import { UsageError } from '../../errors.ts';
import { probeFeatures } from '../../kernel/probe.ts';

const HELP = `usage: bpfgate doctor [--json] [--features FILE|lsm|no-lsm]

Probe this kernel by loading bpfgate's own programs, one per hook family, and
show what it can do and what a rule of each kind achieves on it (block, kill,
audit or unavailable), by which hooks and why.

  --json            {features, matrix} as JSON
  --features SPEC   show a feature file (or 'lsm', 'no-lsm': the shipped
                    ones) instead of probing
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
  ['kprobes', 'kprobes'],
  ['fentry', 'fentry'],
  ['tracepoints', 'tracepoints'],
  ['sendSignal', 'bpf_send_signal'],
  ['tcx', 'tc (tcx)'],
  ['xdp', 'XDP (native, generic)'],
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

/** The feature list: one line per feature, ✓ or ✗ and what the probe saw. */
export function formatFeatures(f: FeatureSet): string {
  const mark = (x: Feature) => (x.available ? '✓' : '✗');
  const rows: string[][] = FEATURE_LABELS.map(([key, label]) => {
    // tcx and xdp are absent from older feature files
    const x = (f[key] as Feature | undefined) ?? { available: false, reason: 'not in this feature set' };
    return [`  ${mark(x)}`, label, x.reason];
  });
  for (const h of CGROUP_HOOKS) {
    const x = f.cgroupHooks[h];
    rows.push([`  ${mark(x)}`, `cgroup/${h}`, x.reason]);
  }
  return `features: ${f.name} (kernel ${f.kernelRelease})\n${padTable(rows).join('\n')}\n`;
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
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function readFeatures(spec: string): FeatureSet {
  if (spec === 'lsm' || spec === 'no-lsm') return loadFeatureFile(SHIPPED_FEATURES[spec]);
  if (spec === '') throw new UsageError('--features needs a file, lsm or no-lsm');
  try {
    return loadFeatureFile(spec);
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
  const features = values.features !== undefined ? readFeatures(values.features) : await probeFeatures();
  const matrix = enforcementMatrix(features);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ features, matrix }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${formatFeatures(features)}\n${formatMatrix(matrix)}`);
  return 0;
}
