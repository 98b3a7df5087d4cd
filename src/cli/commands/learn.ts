// bpfgate learn: an allowlist policy from audit-mode events (docs/learn.md).
//   bpfgate learn FILE...|- --cgroup PATH|--executable PATH [options]
//   bpfgate learn --nats URL --stream NAME --cgroup PATH [options]
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../../errors.ts';
import { Learner } from '../../learn/learner.ts';
import { DEFAULT_DIR_THRESHOLD, LEARNABLE, type LearnKind, renderPolicy } from '../../learn/policy.ts';
import { parsePolicySources } from '../../policy/index.ts';
import {
  describeInput,
  eventInputHelp,
  parseEventCommand,
  parseEventInput,
  readEvents,
} from '../events-input.ts';
import { EXIT } from '../exit.ts';

const HELP = `usage: bpfgate learn [FILE...|-] --cgroup PATH|--executable PATH [options]
       bpfgate learn --nats URL --stream NAME --cgroup PATH|--executable PATH [options]

Writes an allowlist policy (defaultAction: block, mode: audit) that would have
allowed everything the scope did in the audit-mode events read: the programs
it executed, where it connected, what it bound, the directories it changed
files in, each with its count as a comment. Run the observe policy
(policies/observe.yaml) on the service first; docs/learn.md.

${eventInputHelp()}
  --cgroup PATH      the scope: processes in this cgroup (from the cgroup2 root; /x/** for a subtree)
  --executable PATH  the scope: this program (exact path)
  --policy NAME      only events of this policy (e.g. observe)
  --name NAME        the learned policy's name (default: learned-<cgroup or program name>)
  --kinds LIST       what to learn, from exec,connect,bind,file (default: all four)
  --dir-threshold N  programs run from one directory that make it a directory entry
                     (default ${DEFAULT_DIR_THRESHOLD}; 0: never; never for /bin, /usr/bin and the like)
  --output FILE      write the policy to FILE (default: stdout)
`;

/** A policy name from the scope: lowercase letters, digits and -, at most 63 characters. */
export function defaultName(cgroup: string | undefined, executable: string | undefined): string {
  const from =
    cgroup !== undefined
      ? (cgroup
          .replace(/\/\*\*$/, '')
          .split('/')
          .pop() ?? '')
      : basename(executable ?? '');
  const slug = from
    .toLowerCase()
    .replace(/\.(service|scope|slice)$/, '')
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `learned-${slug || 'scope'}`.slice(0, 63).replace(/-+$/, '');
}

function parseKinds(text: string): LearnKind[] {
  const kinds = text.split(',').map((k) => k.trim());
  const bad = kinds.filter((k) => !(LEARNABLE as readonly string[]).includes(k));
  if (bad.length > 0 || kinds.length === 0)
    throw new UsageError(`--kinds: ${bad.join(', ')} not one of ${LEARNABLE.join(', ')}`);
  return [...new Set(kinds)] as LearnKind[];
}

export async function run(args: string[], now: () => number = Date.now): Promise<number> {
  const parsed = parseEventCommand(
    'learn',
    args,
    {
      cgroup: { type: 'string' },
      executable: { type: 'string' },
      policy: { type: 'string' },
      name: { type: 'string' },
      kinds: { type: 'string' },
      'dir-threshold': { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
    HELP,
  );
  if (parsed === null) return EXIT.ok;
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const input = parseEventInput('learn', v, parsed.positionals, now(), HELP);
  const cgroup = typeof v.cgroup === 'string' ? v.cgroup : undefined;
  const executable = typeof v.executable === 'string' ? v.executable : undefined;
  if (cgroup === undefined && executable === undefined)
    throw new UsageError('a scope is needed: --cgroup PATH and/or --executable PATH');
  if (cgroup !== undefined && !/^\/[^*]*(\/\*\*)?$/.test(cgroup))
    throw new UsageError(
      `--cgroup: a cgroup path from the cgroup2 root (/system.slice/app.service), or /x/**, not '${cgroup}'`,
    );
  if (executable !== undefined && !executable.startsWith('/'))
    throw new UsageError(`--executable: an absolute path, not '${executable}'`);
  const name = typeof v.name === 'string' ? v.name : defaultName(cgroup, executable);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name))
    throw new UsageError(`--name: lowercase letters, digits and -, at most 63 characters, not '${name}'`);
  const kinds = typeof v.kinds === 'string' ? parseKinds(v.kinds) : LEARNABLE;
  let dirThreshold = DEFAULT_DIR_THRESHOLD;
  if (typeof v['dir-threshold'] === 'string') {
    dirThreshold = Number(v['dir-threshold']);
    if (!Number.isInteger(dirThreshold) || dirThreshold < 0)
      throw new UsageError(`--dir-threshold: a whole number >= 0, not '${v['dir-threshold']}'`);
  }
  const learner = new Learner({
    ...(cgroup !== undefined ? { cgroup } : {}),
    ...(executable !== undefined ? { executable } : {}),
    ...(typeof v.policy === 'string' ? { policy: v.policy } : {}),
    sinceMs: input.sinceMs,
    untilMs: input.untilMs,
  });
  try {
    await readEvents(input, learner);
  } catch (err) {
    process.stderr.write(`bpfgate learn: ${(err as Error).message}\n`);
    return EXIT.runtime;
  }
  const l = learner.result();
  const s = l.skipped;
  process.stderr.write(
    `bpfgate learn: ${l.events} event(s) in scope: ${l.exec.size} program(s), ${l.connect.size} destination(s), ` +
      `${l.bind.size} bind(s), ${l.writes.size} changed director(ies); left out: ${s.outOfScope} out of scope or range, ` +
      `${s.enforced} enforced (not audit), ${s.otherKind} of other kinds or reads, ${s.relativePath} with relative paths, ` +
      `${s.notViolation} not violations, ${l.unreadable} unreadable\n`,
  );
  if (l.events === 0) {
    process.stderr.write(
      'bpfgate learn: nothing to learn from: no audit-mode violation of the scope was read\n',
    );
    return EXIT.failed;
  }
  const text = renderPolicy(l, {
    name,
    cgroups: cgroup !== undefined ? [cgroup] : [],
    executables: executable !== undefined ? [executable] : [],
    kinds,
    dirThreshold,
    source: describeInput(input),
  });
  // what is written must be a valid policy: checked here, not left to the reader
  const check = parsePolicySources([{ file: `${name}.yaml`, text }]);
  const errors = check.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    for (const d of errors)
      process.stderr.write(
        `bpfgate learn: ${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.message} [${d.code}]\n`,
      );
    process.stderr.write('bpfgate learn: the learned policy does not validate (a bug: please report it)\n');
    return EXIT.runtime;
  }
  if (typeof v.output === 'string') writeFileSync(v.output, text);
  else process.stdout.write(text);
  return EXIT.ok;
}
