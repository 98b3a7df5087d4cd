// bpfgate validate [PATH...] [--json]: check policy files and folders as one
// set and report every problem as file:line:column. Exit 0 valid, 1 invalid,
// 2 usage.
import { flagSet, parseCommandArgs } from '../../args.ts';
import { formatDiagnostic } from '../../errors.ts';
import { type LoadProgress, loadPolicyFiles } from '../../policy/index.ts';

export const DEFAULT_POLICY_PATH = 'policies/';

const HELP = `usage: bpfgate validate [PATH...] [--json]

Check policy files (or folders of *.yaml / *.yml files) as one policy set and
report every problem as file:line:column: message [CODE].

  PATH        files or folders (default: ${DEFAULT_POLICY_PATH})
  --json      print {"valid", "policies", "rules", "diagnostics"} as JSON on stdout
  -h, --help  show this help

Exit status: 0 valid, 1 invalid, 2 usage error.
`;

/** Files or bytes from which on a set is large enough to show progress. */
export const PROGRESS_FROM = { files: 200, bytes: 16 * 1024 * 1024 };

/**
 * Progress of a large set on stderr, at most once a second: "validating: N of
 * M files read (X MiB)"; rewritten in place on a terminal.
 */
export function progressLine(
  now: () => number,
  write: (s: string) => void = (s) => process.stderr.write(s),
  tty: boolean = process.stderr.isTTY === true,
): LoadProgress {
  const start = now();
  let last = start;
  let shown = false;
  return (done, total, bytes) => {
    const large = total >= PROGRESS_FROM.files || bytes >= PROGRESS_FROM.bytes;
    const t = now();
    const end = done === total;
    if (!large || (t - last < 1000 && !(end && shown)) || (end && !shown)) return;
    last = t;
    shown = true;
    const line = `validating: ${done} of ${total} files read (${(bytes / 2 ** 20).toFixed(1)} MiB)`;
    write(tty ? `\r${line}${end ? '\n' : ''}` : `${line}\n`);
  };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('validate', args, flagSet([], ['json']), { positionals: true });
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const paths = parsed.positionals.length > 0 ? parsed.positionals : [DEFAULT_POLICY_PATH];
  const { set, diagnostics } = await loadPolicyFiles(paths, progressLine(Date.now));
  const policies = set?.policies.length ?? 0;
  const rules = set?.policies.reduce((n, p) => n + p.rules.length, 0) ?? 0;
  if (parsed.values.json) {
    process.stdout.write(
      `${JSON.stringify({ valid: set !== null, policies, rules, diagnostics }, null, 2)}\n`,
    );
    return set ? 0 : 1;
  }
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const tail = warnings > 0 ? `, ${warnings} warning(s)` : '';
  if (set) process.stderr.write(`valid: ${policies} policies, ${rules} rules${tail}\n`);
  else process.stderr.write(`invalid: ${errors} error(s)${tail}; nothing of this set would be loaded\n`);
  return set ? 0 : 1;
}
