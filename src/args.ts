// Command-line parsing for every bpfgate command: node:util parseArgs, with
// its errors said in bpfgate's words (the flag, what is wrong, the closest
// known flag, where to read the rest) instead of Node's own text.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { closest } from './policy/text.ts';

export type FlagOption = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
export type FlagOptions = Record<string, FlagOption>;

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** A command's flags: string flags (each takes a value), switches, and --help/-h. */
export function flagSet(strings: readonly string[], switches: readonly string[] = []): FlagOptions {
  const out: FlagOptions = {};
  for (const s of strings) out[s] = { type: 'string' };
  for (const s of switches) out[s] = { type: 'boolean' };
  out.help = { type: 'boolean', short: 'h' };
  return out;
}

/** The flag an argument names (`--json`, `--json=x`, `-h`), or null for a positional. */
function flagOf(arg: string): string | null {
  if (arg === '-' || !arg.startsWith('-')) return null;
  return arg.startsWith('--') ? `--${arg.slice(2).split('=')[0]}` : arg.slice(0, 2);
}

/**
 * The problem of an unknown flag, with the closest known one when it is a
 * likely typo (`--jsn` -> `--json`).
 */
export function unknownFlag(flag: string, options: FlagOptions, command: string): string {
  const known = Object.keys(options).map((k) => `--${k}`);
  const guess = closest(flag, known);
  const help = `run 'bpfgate ${command} --help' for its flags`;
  return `unknown flag '${flag}' (${guess ? `did you mean '${guess}'? ` : ''}${help})`;
}

/**
 * Parse `args` against `options`. Throws UsageError naming the first problem:
 * an unknown flag (with the closest known one), a flag missing its value, a
 * value given to a switch, an argument where the command takes none.
 */
export function parseCommandArgs(
  command: string,
  args: readonly string[],
  options: FlagOptions,
  opts: { positionals?: boolean } = {},
): ParsedArgs {
  const byShort = new Map(
    Object.entries(options)
      .filter(([, o]) => o.short)
      .map(([k, o]) => [`-${o.short}`, k]),
  );
  let positional: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional ??= args[i + 1];
      break;
    }
    const flag = flagOf(arg);
    if (flag === null) {
      positional ??= arg;
      continue;
    }
    const name = flag.startsWith('--') ? flag.slice(2) : byShort.get(flag);
    const o = name !== undefined ? options[name] : undefined;
    if (!o) throw new UsageError(unknownFlag(flag, options, command));
    const inline = arg.startsWith('--') && arg.includes('=');
    if (o.type === 'boolean' && inline) throw new UsageError(`${flag} takes no value`);
    if (o.type === 'string' && !inline) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-'))
        throw new UsageError(`${flag} needs a value`);
      i++;
    }
  }
  if (positional !== undefined && opts.positionals !== true)
    throw new UsageError(`unexpected argument '${positional}': 'bpfgate ${command}' takes flags only`);
  try {
    const r = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: opts.positionals === true,
    });
    return { values: r.values as ParsedArgs['values'], positionals: r.positionals };
  } catch (err) {
    // the scan above finds every problem parseArgs knows; this is a safety net
    throw new UsageError((err as Error).message);
  }
}
