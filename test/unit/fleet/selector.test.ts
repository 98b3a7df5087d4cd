import { describe, expect, it } from 'vitest';
import { checkHostLabels, parseSelector, type Selector, selects } from '../../../src/fleet/selector.ts';

function sel(text: string): Selector {
  const r = parseSelector(text);
  if (!r.ok) throw new Error(r.message);
  return r.selector;
}

const web = { role: 'web', env: 'prod' };
const db = { role: 'db', env: 'prod', gpu: 'a100' };
const bare = {};

describe('host selectors', () => {
  it('* selects every host, even one without labels', () => {
    for (const h of [web, db, bare]) expect(selects(sel('*'), h)).toBe(true);
  });

  it('key=value selects hosts with that label value only', () => {
    expect(selects(sel('role=web'), web)).toBe(true);
    expect(selects(sel('role=web'), db)).toBe(false);
    expect(selects(sel('role=web'), bare)).toBe(false);
    expect(selects(sel('role == web'), web)).toBe(true);
  });

  it('every term of a comma-separated selector must hold', () => {
    expect(selects(sel('role=web, env=prod'), web)).toBe(true);
    expect(selects(sel('role=web,env=staging'), web)).toBe(false);
    expect(selects(sel('env=prod,role=db'), db)).toBe(true);
  });

  it('!= also selects hosts without the label', () => {
    expect(selects(sel('env!=dev'), web)).toBe(true);
    expect(selects(sel('env!=dev'), bare)).toBe(true);
    expect(selects(sel('env!=prod'), web)).toBe(false);
  });

  it('in and notin take a list of values', () => {
    expect(selects(sel('role in (web, api)'), web)).toBe(true);
    expect(selects(sel('role in (web, api)'), db)).toBe(false);
    expect(selects(sel('role in (web, api)'), bare)).toBe(false);
    expect(selects(sel('role notin (web, api)'), db)).toBe(true);
    expect(selects(sel('role notin (web, api)'), bare)).toBe(true);
    expect(selects(sel('role notin (web,api), env=prod'), web)).toBe(false);
  });

  it('a bare key tests presence and !key absence', () => {
    expect(selects(sel('gpu'), db)).toBe(true);
    expect(selects(sel('gpu'), web)).toBe(false);
    expect(selects(sel('!gpu'), web)).toBe(true);
    expect(selects(sel('!gpu, role=db'), db)).toBe(false);
  });

  it('does not read labels from the prototype', () => {
    expect(selects(sel('constructor'), bare)).toBe(false);
    expect(selects(sel('!toString'), bare)).toBe(true);
  });

  it.each([
    ['', /empty host selector/],
    ['role=web,', /empty term/],
    [',role=web', /empty term/],
    ['role in (web', /'\(' without '\)'/],
    ['role in web)', /'\)' without '\('/],
    ['role in ((web))', /nested/],
    ['role in ()', /list of values/],
    ['role in (web,,api)', /list of values/],
    ['role=', /not a label value/],
    ['role=we b', /not a label value/],
    ['=web', /not a label key/],
    ['ro le', /not a label key/],
    ['role=web; env=prod', /not a label value/],
    ['role in (we$b)', /not a label value/],
  ])('rejects %j with a message that says what is wrong', (text, message) => {
    const r = parseSelector(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('checks host labels', () => {
    expect(checkHostLabels({ role: 'web', 'topology.kubernetes.io/zone': 'eu-1a' })).toBeNull();
    expect(checkHostLabels({ role: '' })).toMatch(/not a label value/);
    expect(checkHostLabels({ '-role': 'web' })).toMatch(/not a label key/);
    expect(checkHostLabels({ role: 'we b' })).toMatch(/not a label value/);
  });
});
