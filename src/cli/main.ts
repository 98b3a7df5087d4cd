// bpfgate command-line entry point. Each command lives in src/cli/commands/<name>.ts
// and exports `run(args: string[]): Promise<number>` returning the exit code.
// Exit codes and which error maps to which: src/cli/exit.ts. This module is
// the entry point: importing it runs the command named in process.argv.
import { EXIT, exitFor } from './exit.ts';

const COMMANDS: Record<string, string> = {
  validate: 'check policy files and report every error with file:line:column',
  compile: 'show what a policy set enforces where (--explain) or the whole plan (--json)',
  doctor: 'probe this kernel and print the enforcement matrix',
  run: 'run the daemon in the foreground',
  tail: 'watch violations live from NATS',
  report: 'summarise what audit-mode policies would have blocked',
  learn: 'write an allowlist policy from what audit-mode events saw a service do',
  status: "show the running daemon's policies, enforcement and counters",
  unload: 'detach and remove every pinned bpfgate program and map',
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, d]) => `  ${n.padEnd(9)} ${d}`);
  return `usage: bpfgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'bpfgate <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (!(name in COMMANDS)) {
    process.stderr.write(`bpfgate: unknown command '${name}'\n\n${usage()}`);
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

process.exitCode = await main(process.argv.slice(2));
