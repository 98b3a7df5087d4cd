// The command table and dispatch: each command lives in
// src/cli/commands/<name>.ts and exports `run(args: string[]): Promise<number>`
// returning the exit code. Exit codes and which error maps to which:
// ./exit.ts. No side effects (./main.ts is the entry point that runs it).
import { closest } from '../policy/text.ts';
import { bpfgateVersion } from '../version.ts';
import { EXIT, exitFor } from './exit.ts';

export const COMMANDS: Record<string, string> = {
  validate: 'check policy files and report every error with file:line:column',
  compile: 'show what a policy set enforces where (--explain) or the whole plan (--json)',
  doctor: 'probe this kernel and print the enforcement matrix',
  run: 'run the daemon in the foreground',
  tail: "watch violations live, from this machine's daemon or from NATS",
  nats: 'set up NATS for bpfgate: create or check the JetStream stream (nats setup)',
  report: 'summarise what audit-mode policies would have blocked',
  learn: 'write an allowlist policy from what audit-mode events saw a service do',
  status: "show the running daemon's policies, enforcement and counters",
  unload: 'detach and remove every pinned bpfgate program and map',
  fleet: 'sign fleet policies and push them to the bucket (keygen, sign, push)',
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, d]) => `  ${n.padEnd(9)} ${d}`);
  return `usage: bpfgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'bpfgate <command> --help' for a command's options, 'bpfgate --version' for the version.\nExit status: 0 ok, 1 the checked thing failed, 2 usage error, 3 missing privilege, 4 runtime error.\n`;
}

export async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`bpfgate ${bpfgateVersion()} (Node.js ${process.versions.node})\n`);
    return EXIT.ok;
  }
  if (!name) {
    process.stderr.write(usage());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    if (rest[0] === undefined || !(rest[0] in COMMANDS)) {
      process.stdout.write(usage());
      return EXIT.ok;
    }
    // `bpfgate help CMD` is `bpfgate CMD --help`
    [name, rest] = [rest[0], ['--help']];
  }
  if (!(name in COMMANDS)) {
    const guess = closest(name, Object.keys(COMMANDS));
    const hint = guess
      ? ` (did you mean '${guess}'?)`
      : name.startsWith('-')
        ? " (flags go after the command: 'bpfgate <command> --help')"
        : '';
    process.stderr.write(`bpfgate: unknown command '${name}'${hint}\n\n${usage()}`);
    return EXIT.usage;
  }
  let mod: { run: (args: string[]) => Promise<number> };
  try {
    mod = await import(`./commands/${name}.ts`);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String(err).includes(`commands/${name}.ts`)
    ) {
      process.stderr.write(`bpfgate: command '${name}' is not available in this build\n`);
      return EXIT.usage;
    }
    throw err;
  }
  try {
    return await mod.run(rest);
  } catch (err) {
    const exit = exitFor(name, err);
    if (!exit) throw err;
    process.stderr.write(exit.message);
    return exit.code;
  }
}
