// The layers of the configuration, each of the file's shape: the BPFGATE_*
// environment and the command-line flags (both read through the registry's
// inputs and checked against the same schema as the file), and how layers
// merge. Relative paths of a file are anchored at its folder.
import { isAbsolute, resolve } from 'node:path';
import { type FlagOptions, parseCommandArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import { mapAuthFiles, type NatsAuth } from '../nats/auth.ts';
import { ConfigError } from './errors.ts';
import { checkFragment } from './file.ts';
import type { ConfigInput } from './input.ts';
import type { Input, InputValue, Setting } from './registry.ts';
import { SETTINGS } from './settings.ts';

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merge layers, the later winning; mappings merge key by key, lists and values are replaced. */
export function mergeConfig(...layers: ConfigInput[]): ConfigInput {
  const merge = (a: Plain, b: Plain): Plain => {
    const out: Plain = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (v === undefined) continue;
      out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k] as Plain, v) : v;
    }
    return out;
  };
  return layers.reduce<Plain>((acc, l) => merge(acc, l as Plain), {}) as ConfigInput;
}

/** The value at `path` of a layer, if set. */
export function valueAt(input: ConfigInput, path: readonly string[]): unknown {
  let v: unknown = input;
  for (const p of path) v = isPlain(v) ? v[p] : undefined;
  return v;
}

function withValue(input: Plain, path: readonly string[], value: unknown): void {
  let node = input;
  for (const p of path.slice(0, -1)) {
    if (!isPlain(node[p])) node[p] = {};
    node = node[p] as Plain;
  }
  node[path.at(-1)!] = value;
}

/** A layer holding one setting's value. */
function fragment(s: Setting, input: Input, v: InputValue): ConfigInput {
  const out: Plain = {};
  withValue(out, s.path, input.value ? input.value(v) : v);
  return out as ConfigInput;
}

/** Paths in a file are relative to its folder: the file settings and every NATS auth file. */
export function anchorPaths(
  input: ConfigInput,
  dir: string,
  settings: readonly Setting[] = SETTINGS,
): ConfigInput {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  const out = structuredClone(input) as Plain;
  for (const s of settings) {
    const v = valueAt(out as ConfigInput, s.path);
    if (s.file && typeof v === 'string' && v !== '') withValue(out, s.path, at(v));
    else if (s.file && Array.isArray(v))
      withValue(
        out,
        s.path,
        v.map((x) => (typeof x === 'string' ? at(x) : x)),
      );
  }
  for (const path of [
    ['nats', 'auth'],
    ['fleet', 'auth'],
  ]) {
    const auth = valueAt(out as ConfigInput, path);
    if (isPlain(auth)) withValue(out, path, mapAuthFiles(auth as NatsAuth, at));
  }
  return out as ConfigInput;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** An environment variable's text as an input's value; a string is an error message. */
export function envValue(input: Input, raw: string): { value: InputValue } | string {
  switch (input.kind) {
    case 'list': {
      const items = raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');
      return items.length > 0 ? { value: items } : 'expected a comma-separated list';
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return { value: true };
      if (FALSE.has(v)) return { value: false };
      return `expected true or false, not '${raw}'`;
    }
    case 'int':
      return /^\s*\d+\s*$/.test(raw) ? { value: Number(raw) } : `expected a whole number, not '${raw}'`;
    default:
      return { value: raw };
  }
}

/** A flag's value (from node:util parseArgs) as an input's value; a string is an error message. */
export function flagValue(input: Input, raw: string | boolean | string[]): { value: InputValue } | string {
  if (input.kind === 'bool') return { value: input.negated ? !raw : raw === true };
  if (input.kind === 'int') {
    const v = String(raw);
    return /^\d+$/.test(v) ? { value: Number(v) } : `expected a whole number, not '${v}'`;
  }
  return { value: raw };
}

/** Every input of the registry with its setting. */
function inputs(settings: readonly Setting[]): { s: Setting; input: Input }[] {
  return settings.flatMap((s) => (s.inputs ?? []).map((input) => ({ s, input })));
}

/** The environment layer: every BPFGATE_* variable of the registry that is set. */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  settings: readonly Setting[] = SETTINGS,
): ConfigInput {
  const problems: string[] = [];
  const layers: ConfigInput[] = [];
  for (const { s, input } of inputs(settings)) {
    const raw = input.env ? env[input.env] : undefined;
    if (raw === undefined || !input.env) continue;
    const v = envValue(input, raw);
    if (typeof v === 'string') {
      problems.push(`${input.env}: ${v}`);
      continue;
    }
    const f = fragment(s, input, v.value);
    problems.push(...checkFragment(input.env, f));
    layers.push(f);
  }
  if (problems.length > 0) throw new ConfigError([], problems);
  return mergeConfig(...layers);
}

/** parseArgs option definitions for every flag of the registry, --config and --help. */
export function flagOptions(settings: readonly Setting[] = SETTINGS): FlagOptions {
  const options: FlagOptions = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const { input } of inputs(settings)) {
    if (input.refusedFlag) options[input.refusedFlag.flag] = { type: 'string' };
    if (input.flag === null) continue;
    options[input.flag] =
      input.kind === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: input.kind === 'list' };
  }
  return options;
}

/**
 * The command line of `bpfgate run` as the flag layer, and the --config file.
 * Throws UsageError naming every problem (an unknown flag with the closest
 * known one); `help` is true for --help.
 */
export function configFromFlags(
  args: string[],
  settings: readonly Setting[] = SETTINGS,
): { flags: ConfigInput; configFile: string | null; help: boolean } {
  const { values } = parseCommandArgs('run', args, flagOptions(settings));
  const problems: string[] = [];
  const layers: ConfigInput[] = [];
  for (const { s, input } of inputs(settings)) {
    if (input.refusedFlag && values[input.refusedFlag.flag] !== undefined)
      problems.push(input.refusedFlag.message);
    const raw = input.flag === null ? undefined : values[input.flag];
    if (raw === undefined) continue;
    const v = flagValue(input, raw as string | boolean | string[]);
    if (typeof v === 'string') {
      problems.push(`--${input.flag}: ${v}`);
      continue;
    }
    const f = fragment(s, input, v.value);
    problems.push(...checkFragment(`--${input.flag}`, f));
    layers.push(f);
  }
  if (problems.length > 0 && !values.help) throw new UsageError(problems.join('\n'));
  return {
    flags: mergeConfig(...layers),
    configFile: (values.config as string | undefined) ?? null,
    help: values.help === true,
  };
}
