// Benchmark: parse + validate (src/policy) and compile (src/compiler) of
// generated policy sets of 10, 1,000 and 100,000 rules. Prints milliseconds
// and rules per second per stage; writes bench/results/policy.json.
// Run alone with `node bench/policy.ts`, or with the others via `npm run bench`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compile } from '../src/compiler/compile.ts';
import { loadFeatureFile, SHIPPED_FEATURES } from '../src/compiler/feature-file.ts';
import { type PolicySource, parsePolicySources } from '../src/policy/index.ts';
import type { PolicySet } from '../src/policy/model.ts';
import { machineInfo } from './machine.ts';

export const SIZES = [10, 1_000, 100_000];
const POLICIES = 64;

/** One rule of a rotation of kinds whose targets are all distinct (one map entry each). */
function ruleYaml(i: number): string {
  const head = `    - id: r${i}\n      action: ${i % 5 === 0 ? 'audit' : 'block'}\n      message: rule ${i}\n`;
  switch (i % 4) {
    case 0:
      return `${head}      kind: exec\n      match:\n        paths: [/opt/bench/bin/tool-${i}]\n`;
    case 1:
      return `${head}      kind: file\n      match:\n        paths: [/srv/bench/data-${i}]\n        operations: [write]\n`;
    case 2: {
      const addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      return `${head}      kind: connect\n      match:\n        addresses: [${addr}/32]\n        ports: [443]\n        protocols: [tcp]\n`;
    }
    default: {
      const dev = `{ type: char, major: ${10 + Math.floor(i / 1000)}, minor: ${i % 1000} }`;
      return `${head}      kind: device\n      match:\n        devices: [${dev}]\n        access: [write]\n`;
    }
  }
}

/** `rules` rules spread over up to 64 policies, as YAML files. */
export function generateSources(rules: number): PolicySource[] {
  const policies = Math.min(POLICIES, rules);
  const sources: PolicySource[] = [];
  for (let p = 0; p < policies; p++) {
    const lines = [
      'apiVersion: bpfgate.dev/v1',
      'kind: Policy',
      'metadata:',
      `  name: bench-${String(p).padStart(2, '0')}`,
      '  description: generated for the benchmark',
      '  severity: high',
      'spec:',
      '  rules:',
    ];
    let text = `${lines.join('\n')}\n`;
    for (let i = p; i < rules; i += policies) text += ruleYaml(i);
    sources.push({ file: `bench-${p}.yaml`, text });
  }
  return sources;
}

interface Stage {
  ms: number;
  rulesPerSecond: number;
}

function time<T>(rules: number, fn: () => T): [T, Stage] {
  const t0 = performance.now();
  const value = fn();
  const ms = performance.now() - t0;
  return [value, { ms: Math.round(ms * 100) / 100, rulesPerSecond: Math.round((rules / ms) * 1000) }];
}

export async function run(): Promise<void> {
  const features = loadFeatureFile(SHIPPED_FEATURES['no-lsm']);
  // warm-up: the schema compiles once per process; keep it out of the first row
  const warm = parsePolicySources(generateSources(10));
  if (warm.set) compile(warm.set, features, { gen: 0 });
  const results = [];
  for (const rules of SIZES) {
    const sources = generateSources(rules);
    const [parsed, validate] = time(rules, () => parsePolicySources(sources));
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    if (!parsed.set) throw new Error(`generated set of ${rules} rules is invalid: ${errors[0]?.message}`);
    const set: PolicySet = parsed.set;
    const [plan, compiled] = time(rules, () => compile(set, features, { gen: 0 }));
    const entries = plan.maps.reduce((n, m) => n + m.entries.length, 0);
    results.push({ rules, policies: set.policies.length, mapEntries: entries, validate, compile: compiled });
    const row = (s: Stage) =>
      `${s.ms.toFixed(1).padStart(9)} ms ${String(s.rulesPerSecond).padStart(9)} rules/s`;
    process.stdout.write(
      `policy ${String(rules).padStart(7)} rules  validate ${row(validate)}  compile ${row(compiled)}  (${entries} map entries)\n`,
    );
  }
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  const report = { benchmark: 'policy', machine: machineInfo(), features: features.name, results };
  writeFileSync(new URL('policy.json', out), `${JSON.stringify(report, null, 2)}\n`);
}

if (import.meta.main) await run();
