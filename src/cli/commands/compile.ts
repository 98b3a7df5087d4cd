// bpfgate compile [PATH...] [--explain] [--json] [--features FILE|lsm|fmod-ret|no-lsm] [--audit]:
// show what a policy set enforces where on a kernel. Exit 0 compiled, 1
// invalid policies (or a set the kernel maps cannot hold), 2 usage.
import type { FeatureSet } from '../../abi/features.ts';
import type { Plan } from '../../abi/plan.ts';
import { parseCommandArgs } from '../../args.ts';
import { compile } from '../../compiler/compile.ts';
import { FeatureFileError, MapCapacityError, UnencodableError } from '../../compiler/errors.ts';
import { explainTable } from '../../compiler/explain.ts';
import { FEATURES_SPEC, readFeatureSpec } from '../../compiler/feature-file.ts';
import { formatDiagnostic, PrivilegeError, UsageError } from '../../errors.ts';
import { ifIndex } from '../../kernel/binding/object.ts';
import { uprobeCoverage } from '../../kernel/elf.ts';
import { probeFeatures } from '../../kernel/probe.ts';
import { loadPolicyFiles } from '../../policy/index.ts';

/** An interface's index on this host (undefined where the native addon is not built or there is no such interface). */
function hostInterface(name: string): number | undefined {
  try {
    return ifIndex(name) || undefined;
  } catch {
    return undefined;
  }
}

export const DEFAULT_POLICY_PATH = 'policies/';

const HELP = `usage: bpfgate compile [PATH...] [--explain] [--json] [--features ${FEATURES_SPEC}] [--audit]

Compile a policy set for a kernel and show what each rule achieves there.

  PATH              policy files or folders (default: ${DEFAULT_POLICY_PATH})
  --explain         a table: policy, rule, kind, hook, mechanism, asked action,
                    achieved enforcement; downgrades marked and explained
  --json            the whole plan (programs, map entries, rule table) as JSON
  --features SPEC   the kernel to compile for: a feature file, or 'lsm' (Debian
                    6.1 with BPF-LSM), 'fmod-ret' (Debian 6.1 with BPF-LSM
                    built but not active: the fmod_ret rung) or 'no-lsm'
                    (neither, no kprobes); default: this kernel, as probed
  --audit           every policy in audit mode (would-block reports only)
  -h, --help        show this help

Exit status: 0 compiled, 1 invalid policies or too large a set, 2 usage error,
3 probing this kernel needs root, 4 the probe failed (object or addon missing).
`;

const OPTIONS = {
  explain: { type: 'boolean' },
  json: { type: 'boolean' },
  features: { type: 'string' },
  audit: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(args: string[]) {
  const { values, positionals } = parseCommandArgs('compile', args, OPTIONS, { positionals: true });
  return {
    values: values as {
      explain?: boolean;
      json?: boolean;
      features?: string;
      audit?: boolean;
      help?: boolean;
    },
    positionals,
  };
}

/** The feature set named by --features, or this kernel's, as probed (never a guess: a failed probe is an error). */
export async function resolveFeatures(
  spec: string | undefined,
): Promise<{ features: FeatureSet; note: string }> {
  if (spec !== undefined) return readFeatureSpec(spec);
  try {
    const features = await probeFeatures();
    return { features, note: `features: probed from this kernel (${features.name})` };
  } catch (err) {
    if (!(err instanceof PrivilegeError)) throw err;
    throw new PrivilegeError(`${err.message}; or give --features ${FEATURES_SPEC}`, { cause: err });
  }
}

function summary(plan: Plan): string {
  const count = (a: string) => plan.rules.filter((r) => r.achieved === a).length;
  const downgraded = plan.rules.filter((r) => r.downgraded).length;
  const parts = ['block', 'kill', 'kill-after', 'audit', 'allow', 'unavailable'].map(
    (a) => `${count(a)} ${a}`,
  );
  return `${plan.policies.length} policies, ${plan.rules.length} rules: ${parts.join(', ')}; ${downgraded} downgraded; ${plan.programs.length} programs\n`;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.explain && values.json) throw new UsageError('--explain and --json are alternatives: give one');
  let resolved: Awaited<ReturnType<typeof resolveFeatures>>;
  try {
    resolved = await resolveFeatures(values.features);
  } catch (err) {
    if (err instanceof FeatureFileError) throw new UsageError(`--features: ${err.message}`);
    throw err;
  }
  const { features, note } = resolved;
  const paths = positionals.length > 0 ? positionals : [DEFAULT_POLICY_PATH];
  const { set, diagnostics } = await loadPolicyFiles(paths);
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!set) {
    process.stderr.write('invalid policy set: nothing compiled\n');
    return 1;
  }
  process.stderr.write(`${note}\n`);
  let plan: Plan;
  try {
    plan = compile(set, features, {
      gen: 0,
      audit: values.audit === true,
      ...(values.features === undefined ? { interfaces: hostInterface } : {}),
    });
  } catch (err) {
    if (err instanceof MapCapacityError || err instanceof UnencodableError) {
      process.stderr.write(`${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  if (values.explain) {
    process.stdout.write(explainTable(plan));
    const uprobes = plan.programs.flatMap((s) => (s.attach.type === 'uprobe' ? [s.attach] : []));
    process.stdout.write(uprobeCoverage(uprobes));
  } else {
    for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(summary(plan));
  }
  return 0;
}
