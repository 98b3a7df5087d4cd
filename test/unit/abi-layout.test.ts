// The byte layouts user space assumes (Size and EVENT_LAYOUT in
// src/abi/layout.ts) against the BTF of the built object, as bpftool reads
// it (`bpftool btf dump file bpf/build/bpfgate.bpf.o -j`). Builds the object
// with `make -C bpf` when it is missing (clang, bpftool; no privileges).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileIdType } from '../../src/abi/encode/ident.ts';
import {
  EVENT_LAYOUT,
  EVENT_SIZE,
  MapName,
  Mechanism,
  Outcome,
  REPEAT_KEYS_MAX,
  Size,
} from '../../src/abi/layout.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BPF_DIR = path.join(ROOT, 'bpf');
const OBJECT = path.join(BPF_DIR, 'build', 'bpfgate.bpf.o');

interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
}
interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
  vars?: { type_id: number; offset: number; size: number }[];
}

let types: Map<number, BtfType>;

function byName(kind: string, name: string): BtfType {
  for (const t of types.values()) if (t.kind === kind && t.name === name) return t;
  throw new Error(`no ${kind} ${name} in the object's BTF`);
}

/** Size in bytes of a BTF type, following typedefs and qualifiers. */
function sizeOf(id: number): number {
  const t = types.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  switch (t.kind) {
    case 'INT':
    case 'STRUCT':
    case 'UNION':
    case 'ENUM':
      return t.size!;
    case 'ARRAY':
      return t.nr_elems! * sizeOf(t.type_id!);
    case 'TYPEDEF':
    case 'CONST':
    case 'VOLATILE':
      return sizeOf(t.type_id!);
    case 'PTR':
      return 8;
    default:
      throw new Error(`no size for BTF kind ${t.kind}`);
  }
}

beforeAll(() => {
  if (!existsSync(OBJECT)) execFileSync('make', ['-s', '-C', BPF_DIR], { stdio: 'inherit' });
  const json = execFileSync('bpftool', ['btf', 'dump', 'file', OBJECT, '-j'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const parsed = JSON.parse(json) as { types: BtfType[] };
  types = new Map(parsed.types.map((t) => [t.id, t]));
}, 120_000);

describe('struct bg_event in the object BTF', () => {
  it('has the size EVENT_SIZE', () => {
    expect(byName('STRUCT', 'bg_event').size).toBe(EVENT_SIZE);
  });

  it('has exactly the members of EVENT_LAYOUT, at the same offsets and sizes', () => {
    const ev = byName('STRUCT', 'bg_event');
    const actual = Object.fromEntries(
      ev.members!.map((m) => [m.name, { offset: m.bits_offset / 8, size: sizeOf(m.type_id) }]),
    );
    expect(actual).toEqual(EVENT_LAYOUT);
    // the same order as the C struct
    expect(ev.members!.map((m) => m.name)).toEqual(Object.keys(EVENT_LAYOUT));
  });
});

describe('map keys and values in the object BTF', () => {
  it.each([
    ['bg_path_key', Size.pathKey],
    ['bg_rule_key', Size.ruleKey],
    ['bg_net_key', Size.netKey],
    ['bg_rule_val', Size.ruleVal],
    ['bg_exception_key', Size.exceptionKey],
    ['bg_cgroup_key', Size.cgroupKey],
    ['bg_cgroup_val', Size.cgroupVal],
    ['bg_id_key', Size.idKey],
    ['bg_gen_config', Size.genConfig],
    ['bg_state', Size.state],
    ['bg_file_id_key', Size.fileIdKey],
    ['bg_file_id_val', Size.fileIdVal],
    ['bg_cgroup_watch', Size.cgroupWatch],
    ['bg_cgroup_glob', Size.cgroupGlob],
    ['bg_repeat_key', Size.repeatKey],
    ['bg_repeat', Size.repeatVal],
  ] as const)('struct %s is %d bytes', (name, size) => {
    expect(byName('STRUCT', name).size).toBe(size);
  });

  it('defines every map of MapName in .maps', () => {
    const sec = byName('DATASEC', '.maps');
    const names = sec.vars!.map((v) => types.get(v.type_id)?.name);
    for (const name of Object.values(MapName)) expect(names).toContain(name);
  });
});

/** The constants of `enum <name>` in bpf/lib/abi.h, prefix removed and lower-cased: BG_MECH_FMOD_RET = 5 → fmod_ret: 5. */
function headerEnum(name: string, prefix: string): Record<string, number> {
  const text = readFileSync(path.join(BPF_DIR, 'lib', 'abi.h'), 'utf8');
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(text)?.[1] ?? '';
  return Object.fromEntries(
    [...body.matchAll(new RegExp(`${prefix}(\\w+) = (\\d+)`, 'g'))].map((m) => [
      m[1]!.toLowerCase(),
      Number(m[2]),
    ]),
  );
}

describe('the enums bpf/lib/abi.h and src/abi/layout.ts share', () => {
  it('bg_mechanism is Mechanism, name for name and number for number', () => {
    expect(headerEnum('bg_mechanism', 'BG_MECH_')).toEqual({ ...Mechanism });
  });

  it('bg_file_id_type is FileIdType', () => {
    expect(headerEnum('bg_file_id_type', 'BG_FILE_ID_')).toEqual({ ...FileIdType });
  });

  it('bg_outcome is Outcome', () => {
    const outcome = Object.fromEntries(Object.entries(Outcome).map(([k, v]) => [k.replaceAll('-', '_'), v]));
    expect(headerEnum('bg_outcome', 'BG_OUT_')).toEqual(outcome);
  });
});

describe('capacities the daemon reports', () => {
  it("REPEAT_KEYS_MAX is bg_repeats' max_entries (BG_REPEATS_MAX)", () => {
    const text = readFileSync(path.join(BPF_DIR, 'lib', 'maps.h'), 'utf8');
    expect(Number(/#define BG_REPEATS_MAX (\d+)/.exec(text)?.[1])).toBe(REPEAT_KEYS_MAX);
  });
});
