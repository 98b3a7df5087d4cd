// Reading a FeatureSet from a JSON file (--features FILE, and the two shipped
// files in features/). The only I/O in src/compiler/; the shape check is pure.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CGROUP_HOOKS, type FeatureSet } from '../abi/features.ts';
import { FeatureFileError } from './errors.ts';

/** The feature files shipped with bpfgate, by short name. */
export const SHIPPED_FEATURES = {
  /** Debian 6.1 with BPF-LSM active */
  lsm: fileURLToPath(new URL('./features/lsm-kernel.json', import.meta.url)),
  /** Debian 6.1 booted without bpf in lsm=: BPF-LSM built but not active (as Ubuntu and RHEL ship), fmod_ret */
  'fmod-ret': fileURLToPath(new URL('./features/fmod-ret-kernel.json', import.meta.url)),
  /** this project's host: neither BPF-LSM nor fmod_ret, no kprobes */
  'no-lsm': fileURLToPath(new URL('./features/no-lsm-kernel.json', import.meta.url)),
} as const;
export type ShippedFeatures = keyof typeof SHIPPED_FEATURES;

/** `--features` in usage texts. */
export const FEATURES_SPEC = `FILE|${Object.keys(SHIPPED_FEATURES).join('|')}`;

const FEATURE_KEYS = [
  'btf',
  'bpffs',
  'cgroup2',
  'lsm',
  'lsmDPath',
  'kprobes',
  'uprobes',
  'fentry',
  'tracepoints',
  'sendSignal',
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFeature(v: unknown, path: string, problems: string[]): void {
  if (!isObject(v)) {
    problems.push(`${path}: expected an object {available, reason}`);
    return;
  }
  if (typeof v.available !== 'boolean') problems.push(`${path}.available: expected a boolean`);
  if (typeof v.reason !== 'string') problems.push(`${path}.reason: expected a string`);
  if (v.fix !== undefined && typeof v.fix !== 'string') problems.push(`${path}.fix: expected a string`);
  if (
    v.verifier !== undefined &&
    !(Array.isArray(v.verifier) && v.verifier.every((l) => typeof l === 'string'))
  )
    problems.push(`${path}.verifier: expected a list of strings`);
}

/** What a feature file written before the fmod_ret rung says of it: nothing, so it is not used. */
const BEFORE_FMOD_RET = {
  available: false,
  reason: 'the feature file does not say (written before the fmod_ret rung)',
};

/** Check that `data` is a FeatureSet; every problem is named with its path. */
export function parseFeatureSet(data: unknown, file: string): FeatureSet {
  const problems: string[] = [];
  if (!isObject(data)) throw new FeatureFileError(file, 'expected a JSON object');
  for (const k of ['name', 'kernelRelease']) {
    if (typeof data[k] !== 'string') problems.push(`${k}: expected a string`);
  }
  for (const k of FEATURE_KEYS) checkFeature(data[k], k, problems);
  if (isObject(data.cgroup2) && data.cgroup2.mount !== undefined && typeof data.cgroup2.mount !== 'string') {
    problems.push('cgroup2.mount: expected a string');
  }
  // tcx, xdp and cgroup_skb came later: a feature file without them plans no packet programs
  // (nor exceptions by content without exeContent)
  for (const k of ['tcx', 'xdp', 'cgroupSkb', 'exeContent'])
    if (data[k] !== undefined) checkFeature(data[k], k, problems);
  if (!isObject(data.cgroupHooks)) problems.push('cgroupHooks: expected an object');
  else for (const h of CGROUP_HOOKS) checkFeature(data.cgroupHooks[h], `cgroupHooks.${h}`, problems);
  // the fmod_ret rung's features: optional, so that older files still read (without the rung)
  if (data.fmodRet !== undefined) checkFeature(data.fmodRet, 'fmodRet', problems);
  if (data.fmodRetHooks !== undefined) {
    if (!isObject(data.fmodRetHooks)) problems.push('fmodRetHooks: expected an object');
    else
      for (const [fn, v] of Object.entries(data.fmodRetHooks))
        checkFeature(v, `fmodRetHooks.${fn}`, problems);
  }
  if (problems.length > 0) throw new FeatureFileError(file, problems.join('; '));
  return { fmodRet: BEFORE_FMOD_RET, fmodRetHooks: {}, ...data } as unknown as FeatureSet;
}

/** Read and check a feature file. */
export function loadFeatureFile(path: string): FeatureSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FeatureFileError(path, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FeatureFileError(path, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseFeatureSet(data, path);
}

/** --features SPEC: a shipped feature set by name, or a file; FeatureFileError for what cannot be read. */
export function readFeatureSpec(spec: string): { features: FeatureSet; note: string } {
  if (Object.hasOwn(SHIPPED_FEATURES, spec)) {
    const features = loadFeatureFile(SHIPPED_FEATURES[spec as ShippedFeatures]);
    return { features, note: `features: ${spec} (shipped file)` };
  }
  if (spec === '')
    throw new FeatureFileError(
      '--features',
      `needs a file, or one of ${Object.keys(SHIPPED_FEATURES).join(', ')}`,
    );
  return { features: loadFeatureFile(spec), note: `features: ${spec}` };
}
