// What a setting is: its place in the configuration file, its type and
// bounds, its default, and the command-line flags and BPFGATE_* environment
// variables that set it. The settings themselves are declared once, in
// ./settings.ts; the JSON Schema (./schema.ts), the TypeScript type
// (./input.ts), the flag and environment layers (./layers.ts), `bpfgate run
// --help` and the table in docs/operations.md (./render.ts) are derived from
// that declaration.

/** The type of a value in the configuration file. */
export type SettingType =
  | { kind: 'string'; minLength?: number; pattern?: string }
  | { kind: 'boolean' }
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'enum'; values: readonly string[] }
  /** a list of strings: at least one */
  | { kind: 'list'; minLength?: number; pattern?: string }
  /** a mapping of string keys to string values */
  | { kind: 'map'; keyPattern: string; valuePattern: string }
  /** the same shape as the section at `ref` */
  | { kind: 'ref'; ref: readonly string[] };

/** How a flag or an environment variable's text is read. */
export type InputKind = 'string' | 'list' | 'bool' | 'int';

/** A value read from a flag or an environment variable. */
export type InputValue = string | string[] | boolean | number;

/** A command-line flag and/or an environment variable that sets a setting. */
export interface Input {
  /** command-line flag of `bpfgate run`, without the leading dashes; null: environment only */
  flag: string | null;
  /** environment variable; null: flag only */
  env: string | null;
  kind: InputKind;
  /** a bool flag that sets the value false (--no-stdout) */
  negated?: boolean;
  /** value name in the usage text */
  arg?: string;
  help: string;
  /** the setting's value for the input's value; default: the value itself */
  value?: (v: InputValue) => unknown;
  /** a flag `bpfgate run` knows only to refuse it, with this message (a secret on argv) */
  refusedFlag?: { flag: string; message: string };
}

export interface Setting {
  /** where it sits in the configuration file */
  path: readonly string[];
  type: SettingType;
  /** null is a value of its own (for example: off) */
  nullable?: boolean;
  /** what the setting does, for the schema and the documentation */
  description: string;
  /** the default value; undefined: the setting is absent unless set */
  default?: unknown;
  /** the default in words, when it is not a plain value (this machine's host name...) */
  defaultText?: string;
  /** a path: a relative one in a configuration file is anchored at the file's folder */
  file?: boolean;
  inputs?: readonly Input[];
}

/** A mapping in the configuration file that groups settings. */
export interface Section {
  path: readonly string[];
  description?: string;
}

export const key = (path: readonly string[]): string => path.join('.');

/** A flag and/or environment variable of a setting. */
export const input = (
  flag: string | null,
  env: string | null,
  kind: InputKind,
  help: string,
  more: Partial<Input> = {},
): Input => ({ flag, env, kind, help, ...more });

/** A setting: its dotted path, type, description and default (undefined: none), and the rest. */
export const setting = (
  path: string,
  type: SettingType,
  description: string,
  dflt: unknown,
  more: Omit<Partial<Setting>, 'path' | 'type' | 'description' | 'default'> = {},
): Setting => ({
  path: path.split('.'),
  type,
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
  ...more,
});

/** 'off' (or empty) in a flag or variable: null, the setting's "none". */
export const offIsNull = (v: InputValue): unknown => (v === 'off' || v === '' ? null : v);

/** The default as the documentation shows it. */
export function defaultText(s: Setting): string | null {
  if (s.defaultText !== undefined) return s.defaultText;
  if (s.default === undefined) return null;
  if (Array.isArray(s.default)) return s.default.join(', ');
  return String(s.default);
}

/** Settings that are file paths, as the paths at which they sit. */
export function filePaths(settings: readonly Setting[]): string[][] {
  return settings.filter((s) => s.file).map((s) => [...s.path]);
}
