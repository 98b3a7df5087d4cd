// EventPipeline resolves a record's rule id against the plan of the generation
// that decided it (struct bg_event.gen), so a record produced just before a
// reload still names the rule of the old plan.
import { describe, expect, it } from 'vitest';
import { EVENT_LAYOUT, EVENT_SIZE, Outcome, RULE_DEFAULT } from '../../../src/abi/layout.ts';
import type { Plan } from '../../../src/abi/plan.ts';
import { EventPipeline } from '../../../src/daemon/pipeline.ts';
import { IdGenerator } from '../../../src/events/id.ts';
import type { BpfgateEvent, ViolationEvent } from '../../../src/events/types.ts';
import { Kind } from '../../../src/kinds/index.ts';
import { rule } from '../../support/events.ts';

function plan(policy: string, ruleName: string): Plan {
  return {
    formatVersion: 1,
    features: 'test',
    policies: [{ slot: 0, name: policy, mode: 'enforce', cgroups: [], exceptionsCgroups: [] }],
    rules: [rule('socket', { policy, rule: ruleName, message: `${ruleName} fired` })],
    programs: [],
    maps: [],
    exeIds: {},
    warnings: [],
  };
}

function socketRecord(gen: number, ruleId = 0): Uint8Array {
  const b = new Uint8Array(EVENT_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(EVENT_LAYOUT.rule_id.offset, ruleId, true);
  b[EVENT_LAYOUT.kind.offset] = Kind.socket;
  b[EVENT_LAYOUT.action.offset] = 3;
  b[EVENT_LAYOUT.mechanism.offset] = 1;
  b[EVENT_LAYOUT.outcome.offset] = Outcome.denied;
  b[EVENT_LAYOUT.gen.offset] = gen;
  dv.setBigUint64(EVENT_LAYOUT.arg.offset, 17n, true);
  return b;
}

function pipeline(): { p: EventPipeline; out: BpfgateEvent[] } {
  const out: BpfgateEvent[] = [];
  const p = new EventPipeline({
    host: 'h',
    mode: 'enforce',
    clock: { offsetNs: 0n },
    ids: new IdGenerator(),
    outputs: [{ publish: (e) => out.push(e) }],
    log: { warn: () => {} },
  });
  return { p, out };
}

const policyOf = (e: BpfgateEvent) => (e as ViolationEvent).policy;

describe('EventPipeline generations', () => {
  it('names the rule of the plan of the record’s generation', async () => {
    const { p, out } = pipeline();
    p.setPlan(plan('old-set', 'no-packet'), 0);
    p.setPlan(plan('new-set', 'no-netlink'), 1);
    p.handleRecord(socketRecord(0));
    p.handleRecord(socketRecord(1));
    await p.idle();
    expect(out.map(policyOf).map((x) => [x.name, x.rule])).toEqual([
      ['old-set', 'no-packet'],
      ['new-set', 'no-netlink'],
    ]);
  });

  it('keeps the other generation’s plan when one is replaced', async () => {
    const { p, out } = pipeline();
    p.setPlan(plan('first', 'a'), 0);
    p.setPlan(plan('second', 'b'), 1);
    p.setPlan(plan('third', 'c'), 0);
    p.handleRecord(socketRecord(1));
    p.handleRecord(socketRecord(0));
    await p.idle();
    expect(out.map((e) => policyOf(e).name)).toEqual(['second', 'third']);
  });

  it('resolves a default-action record’s slot in the plan of its generation', async () => {
    const { p, out } = pipeline();
    p.setPlan(plan('gen0-policy', 'x'), 0);
    p.setPlan(plan('gen1-policy', 'y'), 1);
    p.handleRecord(socketRecord(1, (RULE_DEFAULT | 0) >>> 0));
    await p.idle();
    expect(policyOf(out[0]!)).toMatchObject({ name: 'gen1-policy', rule: 'default' });
  });

  it('reports an unknown rule, not another plan’s rule, when its generation has no plan', async () => {
    const { p, out } = pipeline();
    p.setPlan(plan('only-gen0', 'z'), 0);
    p.handleRecord(socketRecord(1));
    await p.idle();
    expect(policyOf(out[0]!)).toMatchObject({ name: 'unknown', rule: 'rule-0' });
  });
});
