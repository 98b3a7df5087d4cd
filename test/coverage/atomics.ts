// Atomic Red Team's Linux tests, as the coverage runner needs them: read from
// ../shared/atomic-red-team/atomics (MIT; its SOURCE.md), input arguments
// replaced by their defaults, and each test either planned (executor sh or
// bash, runnable here) or left out with the reason. Pure but for reading the
// YAML files.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/paths.ts';

export const ATOMICS = path.resolve(PROJECT_ROOT, '..', 'shared', 'atomic-red-team', 'atomics');

interface RawTest {
  name: string;
  auto_generated_guid: string;
  supported_platforms: string[];
  input_arguments?: Record<string, { default?: unknown }>;
  dependency_executor_name?: string;
  dependencies?: { description?: string; prereq_command?: string; get_prereq_command?: string }[];
  executor: { name: string; command?: string; cleanup_command?: string; steps?: string };
}

export interface Dependency {
  description: string;
  prereq: string;
  getPrereq: string;
  /** getting it needs the internet: when prereq fails, the test cannot run */
  online: boolean;
}

export interface PlannedTest {
  /** T1053.003-2: technique and the test's number in its file (1-based, as Atomic Red Team numbers them) */
  id: string;
  technique: string;
  techniqueName: string;
  name: string;
  guid: string;
  /** /bin/sh or /bin/bash */
  shell: string;
  command: string;
  cleanup: string;
  depShell: string;
  dependencies: Dependency[];
  /** why it is not run; undefined: run it */
  notRun?: string;
}

/** What a test needs from the internet (which this machine, and the guest, do not reach). */
const NETWORK =
  /https?:\/\/|\bcurl\b|\bwget\b|\bgit clone\b|\bpip3? install\b|\bapt(-get)? (install|update)\b|\byum\b|\bdnf\b|\bapk add\b|\bgo (get|install)\b|\bnpm install\b|\bgem install\b|\bdocker (pull|run)\b|\bInvoke-WebRequest\b/i;
/** What would end the guest run itself. */
const STOPS_MACHINE =
  /\b(shutdown|reboot|halt|poweroff)\b|\binit [06]\b|\bsystemctl (reboot|poweroff|halt|kexec)\b|\/proc\/sysrq-trigger/;

const SHELLS: Record<string, string> = { sh: '/bin/sh', bash: '/bin/bash' };

/** `#{name}` replaced by the argument's default, PathToAtomicsFolder by the atomics folder. */
export function substitute(
  text: string,
  args: Record<string, { default?: unknown }>,
  atomics = ATOMICS,
): string {
  let out = text;
  // defaults may refer to the folder too
  for (let pass = 0; pass < 3; pass++) {
    out = out.replace(/#\{([A-Za-z0-9_]+)\}/g, (m, k: string) =>
      args[k]?.default !== undefined ? String(args[k]!.default) : m,
    );
  }
  return out.replace(/\$?PathToAtomicsFolder/g, atomics);
}

/** Every Linux test of every technique, in technique order, planned or left out. */
export function planTests(atomics = ATOMICS): PlannedTest[] {
  const out: PlannedTest[] = [];
  for (const dir of readdirSync(atomics)
    .filter((d) => /^T\d{4}(\.\d{3})?$/.test(d))
    .sort()) {
    const doc = parse(readFileSync(path.join(atomics, dir, `${dir}.yaml`), 'utf8')) as {
      attack_technique: string;
      display_name: string;
      atomic_tests: RawTest[];
    };
    doc.atomic_tests.forEach((t, i) => {
      if (!t.supported_platforms.includes('linux')) return;
      const args = t.input_arguments ?? {};
      const sub = (s: string | undefined) => substitute(s ?? '', args, atomics);
      const command = sub(t.executor.command);
      const dependencies = (t.dependencies ?? []).map((d) => ({
        description: sub(d.description).trim(),
        prereq: sub(d.prereq_command),
        getPrereq: sub(d.get_prereq_command),
        online: NETWORK.test(sub(d.get_prereq_command)),
      }));
      const p: PlannedTest = {
        id: `${doc.attack_technique}-${i + 1}`,
        technique: doc.attack_technique,
        techniqueName: doc.display_name,
        name: t.name,
        guid: t.auto_generated_guid,
        shell: SHELLS[t.executor.name] ?? '',
        command,
        cleanup: sub(t.executor.cleanup_command),
        depShell: SHELLS[t.dependency_executor_name ?? t.executor.name] ?? '/bin/sh',
        dependencies,
      };
      if (!p.shell) p.notRun = `executor ${t.executor.name}`;
      else if (NETWORK.test(command)) p.notRun = 'needs the internet';
      else if (STOPS_MACHINE.test(command)) p.notRun = 'would stop the machine the suite runs on';
      out.push(p);
    });
  }
  return out;
}
