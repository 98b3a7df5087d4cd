// The audit report's HTML page in a real browser (Debian's chromium,
// headless, a fresh profile): `bpfgate report --html` on a file of events of
// every kind and outcome, from two hosts, including an executable and a
// cgroup named like markup; the page loads with no script error, console
// error or dialog, shows its charts (drawn, with a bar per policy and per
// rule) and tables (a row per rule), and the hostile names are text, never
// elements.
// NATS: none.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.ts';
import { bpfgate } from '../support/daemon.ts';
import { sampleEvents } from '../support/events.ts';

const HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script>';

describe('bpfgate report --html in headless chromium', () => {
  let dir: string;
  let browser: Browser;
  let policies: number;
  let rules: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bpfgate-report-browser-'));
    const events = [...sampleEvents('web-1'), ...sampleEvents('web-2')];
    events[0]!.process.executable = `/tmp/${HOSTILE}`;
    events[1]!.process.cgroup.path = `/${HOSTILE}`;
    policies = new Set(events.map((e) => e.policy.name)).size;
    rules = new Set(events.map((e) => `${e.policy.name}/${e.policy.rule}`)).size;
    writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n'));
    const r = await bpfgate(['report', join(dir, 'events.jsonl'), '--html', join(dir, 'report.html')]);
    expect(r.code, r.stderr).toBe(0);
    browser = await Browser.start();
    await browser.open(`file://${join(dir, 'report.html')}`);
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads with no script error, console error or dialog', async () => {
    expect(await browser.evaluate('document.readyState')).toBe('complete');
    expect(await browser.evaluate('document.title')).toBe('bpfgate audit report');
    expect(browser.problems).toEqual([]);
  });

  it('shows its charts, drawn: a bar per policy and per rule', async () => {
    const charts = await browser.evaluate<{ w: number; h: number; bars: number }[]>(
      `[...document.querySelectorAll('svg.chart')].map((s) => {
        const r = s.getBoundingClientRect();
        return { w: r.width, h: r.height, bars: s.querySelectorAll('rect').length };
      })`,
    );
    // the overview and one per policy section
    expect(charts).toHaveLength(policies + 1);
    for (const c of charts) {
      expect(c.w).toBeGreaterThan(100);
      expect(c.h).toBeGreaterThan(10);
      expect(c.bars).toBeGreaterThan(0);
    }
    expect(charts[0]!.bars).toBeGreaterThanOrEqual(policies);
    expect(await browser.evaluate('document.querySelectorAll(".ranked svg rect").length')).toBeGreaterThan(0);
  });

  it('shows its tables: a row per rule, with the outcome columns', async () => {
    const tables = await browser.evaluate<{ head: string[]; rows: number; visible: boolean }[]>(
      `[...document.querySelectorAll('table.rules')].map((t) => ({
        head: [...t.querySelectorAll('th')].map((h) => h.textContent),
        rows: t.querySelectorAll('tr').length - 1,
        visible: t.getBoundingClientRect().height > 0,
      }))`,
    );
    expect(tables).toHaveLength(policies);
    expect(tables.reduce((s, t) => s + t.rows, 0)).toBe(rules);
    for (const t of tables) {
      expect(t.visible).toBe(true);
      expect(t.head).toEqual(
        expect.arrayContaining(['rule', 'would-block', 'would-kill', 'denied', 'killed', 'total']),
      );
    }
  });

  it('renders hostile names as text, never as elements', async () => {
    expect(await browser.evaluate('document.scripts.length')).toBe(0);
    expect(await browser.evaluate('document.images.length')).toBe(0);
    expect(await browser.evaluate<string>('document.body.innerText')).toContain(HOSTILE);
  });

  it('paints a page (a screenshot of it is a real PNG)', async () => {
    const png = await browser.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    writeFileSync(join(dir, 'report.png'), png);
  });
});
