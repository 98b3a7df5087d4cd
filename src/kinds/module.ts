// module: kernel module loading, from a file (finit_module: BPF-LSM
// kernel_read_file) or from memory (init_module: kernel_load_data); killed
// after the call by sys_enter where BPF-LSM is missing.
// BPF side: bpf/kinds/module.h.
import { ANY } from '../abi/layout.ts';
import { Numbered } from '../abi/numbers.ts';
import { u32 } from './decode.ts';
import { ruleKey } from './keys.ts';
import { defineKind, ENFORCING, opUnits } from './kind.ts';
import { fileObj, OCSF_CLASSES } from './ocsf.ts';
import { obj, record, string } from './schema.ts';

/** Where the module image comes from: the op byte (BG_OP_MODULE_*). */
export const MODULE_OPS = new Numbered('module source', { file: 1, data: 2 });
const SOURCES = MODULE_OPS.names;

export interface ModuleMatch {
  kind: 'module';
}

export interface ModuleTarget {
  source: 'file' | 'data' | 'unknown';
  /** the module file (finit_module) */
  path?: string;
}

const HOOKS = [
  { program: 'bg_lsm_kernel_read_file', ops: ['file'] },
  { program: 'bg_lsm_kernel_load_data', ops: ['data'] },
  { program: 'bg_tp_sys_enter' },
] as const;

export const module = defineKind<ModuleMatch, ModuleTarget>('module', 4, {
  ops: MODULE_OPS,
  actions: ENFORCING,
  match: obj(
    'module match',
    'Kernel module loading has nothing to select: leave match empty or omit it.',
    {},
  ),
  matchOptional: true,
  normalize: () => ({ kind: 'module' }),
  targets: () => [...SOURCES],
  budget: 'rules',
  entries: () => SOURCES.length,

  hooks: HOOKS,
  keys: (_m, ctx) => SOURCES.map((s) => ruleKey(ctx, 4, MODULE_OPS.number(s), ANY)),
  units: () => opUnits(HOOKS, SOURCES),

  target: record(['source'], { source: { enum: [...SOURCES, 'unknown'] }, path: string }),
  decode: (r) => {
    const source = (MODULE_OPS.name(u32(r.args[0]) || r.op) ?? 'unknown') as ModuleTarget['source'];
    return r.path ? { source, path: r.path } : { source };
  },
  describe: (t) => `load ${t.path ?? `(${t.source})`}`,
  ocsf: (e) => ({
    cls: OCSF_CLASSES.kernelExtension,
    activity: [1, 'Load'],
    fields: {
      driver: { file: e.target.path ? fileObj(e.target.path) : { name: '(memory image)', type_id: 0 } },
    },
  }),

  representatives: [{ match: '{}' }],
});
