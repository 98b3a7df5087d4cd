// The kernel suite's results and the tables made from them. Each kernel's run
// (test/vm/kernel-*.test.ts) writes what it saw to test/vm/results/<kernel>.json;
// the enforcement table of the README and docs/doctor.md and docs/attacks.md's
// attack and rule-kind tables (one column per kernel) are rendered from those files, between
// markers. The kernel suite fails when the documents differ from what its run
// renders, and a unit test keeps them equal to the committed results.
//
//   node test/support/kernel-suite/tables.ts     rewrite the tables from the results (npm run generate)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KERNELS, type KernelId } from '../kernels.ts';
import { PROJECT_ROOT } from '../paths.ts';
import { ATTACKS } from './attacks.ts';
import { E2E_CASES } from './cases.ts';
import type { Observation } from './observe.ts';

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'test', 'vm', 'results');

/** A matrix cell as docs/doctor.md shows it. */
export interface MatrixResult {
  achieved: string;
  mechanism: string | null;
  hooks: string[];
}

/** What one kernel's run saw. */
export interface KernelResults {
  kernel: KernelId;
  /** uname -r where it ran */
  release: string;
  /** doctor's matrix: representative rule → what a block rule achieves */
  matrix: Record<string, MatrixResult>;
  /** the rule-kind attacks, enforcing and in audit mode */
  e2e: Record<string, Observation>;
  audit: Record<string, Observation>;
  /** the attacks against the starter policies */
  attacks: Record<string, Observation>;
}

export function resultsFile(k: KernelId): string {
  return path.join(RESULTS_DIR, `${k}.json`);
}

export function writeResults(r: KernelResults): void {
  writeFileSync(resultsFile(r.kernel), `${JSON.stringify(r, null, 2)}\n`);
}

export function readResults(k: KernelId): KernelResults | null {
  const f = resultsFile(k);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as KernelResults) : null;
}

// ---- rendering

const NOT_RUN = 'not run';

/** `lsm/path_chmod, lsm/path_unlink` → `lsm/path_*` (the same for fmod_ret's security_path_*). */
function hooksText(hooks: readonly string[]): string {
  const out: string[] = [];
  for (const h of hooks) {
    const m = /^(.*\/(?:security_)?path_)\w+$/.exec(h);
    const shown = m ? `${m[1]}*` : h;
    if (!out.includes(shown)) out.push(shown);
  }
  return out.map((h) => `\`${h}\``).join(', ');
}

/** What a kind that may not block may do instead (its rule's block cell is not-allowed). */
const INSTEAD_OF_BLOCK: Record<string, string> = {
  kprobe: 'audit only',
  uprobe: 'kill (once the function was entered or returned) or audit',
};

function matrixCell(m: MatrixResult | undefined, rule: string): string {
  if (!m) return NOT_RUN;
  if (m.achieved === 'unavailable') return 'unavailable (no hook sees it)';
  // a kprobe rule may only audit, a uprobe rule kill or audit: there is no block to achieve
  if (m.achieved === 'not-allowed')
    return `${INSTEAD_OF_BLOCK[rule] ?? 'audit only'} (block not allowed for this kind)`;
  const via = m.hooks.length > 0 ? `: ${hooksText(m.hooks)}` : '';
  return `**${m.achieved}**${via}`;
}

const SEES: Record<string, string> = { ok: 'succeeds', SIGKILL: 'killed (SIGKILL)' };

/** "`EPERM` · denied (fmod_ret)" */
export function caseCell(o: Observation | undefined, withAfter = false): string {
  if (!o) return NOT_RUN;
  const sees = SEES[o.sees] ?? `\`${o.sees}\``;
  const event = o.outcome ? `${o.outcome} (${o.mechanism})` : 'no event';
  const after =
    withAfter && o.after !== undefined
      ? ` · after: ${o.after.trim().replaceAll('\n', ' ') || '(empty)'}`
      : '';
  return `${sees} · ${event}${after}`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
}

function header(first: readonly string[]): string[] {
  const titles = [...first, ...KERNELS.map((k) => k.title)];
  return [row(titles), row(titles.map(() => '---'))];
}

type All = Partial<Record<KernelId, KernelResults | null>>;

/** docs/doctor.md: what a block rule of each kind achieves, per kernel (doctor's matrix, as each run probed it). */
export function enforcementTable(all: All): string {
  const rules = [...new Set(KERNELS.flatMap((k) => Object.keys(all[k.id]?.matrix ?? {})))];
  return [
    ...header(['rule kind (asked: block)']),
    ...rules.map((r) => row([r, ...KERNELS.map((k) => matrixCell(all[k.id]?.matrix[r], r))])),
  ].join('\n');
}

/** docs/attacks.md: the attacks against the starter policies, what the attacker got and the event, per kernel. */
/** `{path: /usr/bin/dash}` */
function targetText(t: Record<string, unknown> | undefined): string {
  if (!t) return '';
  return ` \`{${Object.entries(t)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ')}}\``;
}

export function attackTable(all: All): string {
  return [
    ...header([
      'id',
      'Attack',
      'What the attacker runs',
      'Stopped by (policy/rule)',
      'The event (kind, target)',
    ]),
    ...ATTACKS.map((a) =>
      row([
        `\`${a.name}\``,
        a.title,
        a.runs,
        `${a.rule.policy}/${a.rule.rule}${a.rule.action === 'audit' ? ' (audit: reported, not blocked)' : ''}`,
        `${a.rule.kind}${targetText(a.rule.target)}`,
        ...KERNELS.map((k) => caseCell(all[k.id]?.attacks[a.name], true)),
      ]),
    ),
  ].join('\n');
}

/** docs/attacks.md: the rule-kind attacks, enforcing (and in audit mode), per kernel. */
export function e2eTable(all: All): string {
  return [
    ...header(['case', 'rule']),
    ...E2E_CASES.map((c) =>
      row([
        `\`${c.name}\``,
        c.rule ? `${c.rule.policy}/${c.rule.rule}` : 'none (control)',
        ...KERNELS.map((k) => {
          const r = all[k.id];
          const audit = r?.audit[c.name];
          return audit
            ? `${caseCell(r?.e2e[c.name], true)}; audit: ${caseCell(audit)}`
            : caseCell(r?.e2e[c.name], true);
        }),
      ]),
    ),
  ].join('\n');
}

/** The generated regions: file, marker name, table. */
export function regions(all: All): { file: string; name: string; text: string }[] {
  return [
    { file: 'README.md', name: 'kernels-enforcement', text: enforcementTable(all) },
    { file: 'docs/doctor.md', name: 'kernels-enforcement', text: enforcementTable(all) },
    { file: 'docs/attacks.md', name: 'kernels-attacks', text: attackTable(all) },
    { file: 'docs/attacks.md', name: 'kernels-e2e', text: e2eTable(all) },
  ];
}

function markers(name: string): [string, string] {
  return [`<!-- generated: ${name} (test/support/kernel-suite/tables.ts) -->`, `<!-- end: ${name} -->`];
}

/** `doc` with the region `name` replaced by `text`; throws when the markers are missing. */
export function replaceRegion(doc: string, name: string, text: string): string {
  const [begin, end] = markers(name);
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end, a);
  if (a < 0 || b < 0) throw new Error(`no generated region ${name} (markers ${begin} … ${end})`);
  return `${doc.slice(0, a + begin.length)}\n${text}\n${doc.slice(b)}`;
}

/** The committed results of every kernel. */
export function allResults(): All {
  return Object.fromEntries(KERNELS.map((k) => [k.id, readResults(k.id)]));
}

/** Each document as the results render it, beside what it is now. */
export function renderDocuments(all: All = allResults()): { file: string; now: string; want: string }[] {
  const byFile = new Map<string, string>();
  for (const r of regions(all)) {
    const file = path.join(PROJECT_ROOT, r.file);
    const doc = byFile.get(file) ?? readFileSync(file, 'utf8');
    byFile.set(file, replaceRegion(doc, r.name, r.text));
  }
  return [...byFile].map(([file, want]) => ({ file, now: readFileSync(file, 'utf8'), want }));
}

if (import.meta.main) {
  for (const d of renderDocuments()) {
    if (d.now !== d.want) writeFileSync(d.file, d.want);
    process.stdout.write(
      `${d.now === d.want ? 'unchanged' : 'wrote'} ${path.relative(PROJECT_ROOT, d.file)}\n`,
    );
  }
}
