// The audit report as one self-contained HTML page: inline CSS, inline SVG
// bar charts, no script and no external asset; every piece of event text is
// escaped (process names, paths and cgroups come from the monitored hosts).
import { OUTCOMES, type Ranked, type Report, type ReportOutcome, type RuleSummary } from './summary.ts';

const COLORS: Record<ReportOutcome, string> = {
  'would-block': '#d97706',
  'would-kill': '#b91c1c',
  'would-kill-after': '#9f1239',
  denied: '#2563eb',
  killed: '#7c3aed',
  'killed-after': '#a21caf',
  allowed: '#6b7280',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const n = (x: number): string => x.toLocaleString('en-US');

/** Horizontal stacked bars, one per row, scaled to the largest total. */
function stackedBars(rows: { label: string; parts: Record<ReportOutcome, number> }[]): string {
  const barH = 22;
  const labelW = 220;
  const width = 760;
  const plotW = width - labelW - 70;
  const max = Math.max(1, ...rows.map((r) => OUTCOMES.reduce((s, o) => s + r.parts[o], 0)));
  const body = rows
    .map((r, i) => {
      const y = i * (barH + 6);
      let x = labelW;
      const total = OUTCOMES.reduce((s, o) => s + r.parts[o], 0);
      const segs = OUTCOMES.filter((o) => r.parts[o] > 0)
        .map((o) => {
          const w = Math.max(1, (r.parts[o] / max) * plotW);
          const rect = `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[o]}"><title>${escapeHtml(`${r.label}: ${o} ${n(r.parts[o])}`)}</title></rect>`;
          x += w;
          return rect;
        })
        .join('');
      const label = r.label.length > 30 ? `${r.label.slice(0, 29)}…` : r.label;
      return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(label)}</text>${segs}<text x="${(x + 6).toFixed(1)}" y="${y + 15}">${n(total)}</text>`;
    })
    .join('');
  const h = rows.length * (barH + 6);
  return `<svg class="chart" role="img" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

/** A small ranked list with proportional bars (top executables, cgroups). */
function rankedBars(title: string, list: Ranked[]): string {
  if (list.length === 0) return '';
  const max = Math.max(1, ...list.map((r) => r.count));
  const rows = list
    .map((r) => {
      const w = Math.max(1, (r.count / max) * 120);
      return `<tr><td class="bar"><svg width="124" height="12" xmlns="http://www.w3.org/2000/svg"><rect width="${w.toFixed(1)}" height="12" fill="#94a3b8"/></svg></td><td class="num">${n(r.count)}</td><td class="name">${escapeHtml(r.name)}</td></tr>`;
    })
    .join('');
  return `<div class="ranked"><h4>${escapeHtml(title)}</h4><table>${rows}</table></div>`;
}

function outcomeCells(o: Record<ReportOutcome, number>): string {
  return OUTCOMES.map((k) => `<td class="num${o[k] > 0 ? ` o-${k}` : ' zero'}">${n(o[k])}</td>`).join('');
}

function ruleBlock(r: RuleSummary): string {
  return `<details open><summary><b>${escapeHtml(r.rule)}</b> — ${n(r.total)} · first ${escapeHtml(r.firstSeen)} · last ${escapeHtml(r.lastSeen)}</summary><div class="tops">${rankedBars('Top executables', r.executables)}${rankedBars('Top cgroups', r.cgroups)}${r.hosts.length > 1 ? rankedBars('Hosts', r.hosts) : ''}</div></details>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:2rem auto;max-width:1000px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #e5e7eb;padding-bottom:.25rem}
h4{margin:.5rem 0 .25rem;font-size:.85rem;color:#4b5563}
.meta{color:#4b5563}.cards{display:flex;gap:.75rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:.5rem .9rem;min-width:7rem}.card b{display:block;font-size:1.3rem}
.warn{background:#fef2f2;border:1px solid #fecaca;border-radius:6px;padding:.5rem .9rem;margin:.5rem 0}
table.rules{border-collapse:collapse;width:100%;margin:.5rem 0}table.rules th,table.rules td{border-bottom:1px solid #f3f4f6;padding:.3rem .5rem;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.zero{color:#d1d5db}
.o-would-block{color:#b45309;font-weight:600}.o-would-kill{color:#b91c1c;font-weight:600}.o-would-kill-after{color:#9f1239;font-weight:600}.o-denied{color:#1d4ed8}.o-killed{color:#6d28d9}.o-killed-after{color:#a21caf}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
svg.chart text{font-size:12px;fill:#374151}.tops{display:flex;gap:2rem;flex-wrap:wrap;margin:.25rem 0 .75rem 1rem}
.ranked table{border-collapse:collapse}.ranked td{padding:.1rem .4rem}.ranked td.name{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
details{margin:.2rem 0}summary{cursor:pointer}
`;

export function renderHtml(r: Report, title = 'bpfgate audit report'): string {
  const legend = OUTCOMES.map((o) => `<span><i style="background:${COLORS[o]}"></i>${o}</span>`).join('');
  const cards = [
    `<div class="card"><b>${n(r.violations)}</b>violations</div>`,
    ...OUTCOMES.filter((o) => r.outcomes[o] > 0).map(
      (o) => `<div class="card"><b class="o-${o}">${n(r.outcomes[o])}</b>${o}</div>`,
    ),
    `<div class="card"><b>${r.policies.length}</b>policies</div>`,
    `<div class="card"><b>${r.hosts.length}</b>hosts</div>`,
  ].join('');
  const warnings: string[] = [];
  const lost = Object.entries(r.losses);
  if (lost.length > 0)
    warnings.push(
      `Events were lost before they reached this report (${lost.map(([s, c]) => `${escapeHtml(s)}: ${n(c)}`).join(', ')}): the counts are a lower bound.`,
    );
  if (r.policyErrors > 0) warnings.push(`${n(r.policyErrors)} policy reload(s) were rejected in this range.`);
  if (r.tamperRefusals > 0)
    warnings.push(
      `${n(r.tamperRefusals)} attempt(s) to stop or tamper with bpfgate were refused in this range.`,
    );
  if (r.unreadable > 0) warnings.push(`${n(r.unreadable)} input record(s) were not native bpfgate events.`);
  const overview =
    r.policies.length > 0
      ? `<h2>Policies</h2><p class="legend">${legend}</p>${stackedBars(r.policies.map((p) => ({ label: p.name, parts: p.outcomes })))}`
      : '<p>No violations in this range.</p>';
  const sections = r.policies
    .map((p) => {
      const rows = p.rules
        .map(
          (x) =>
            `<tr><td>${escapeHtml(x.rule)}</td><td>${escapeHtml(x.kind)}</td><td>${escapeHtml(x.action)}</td><td>${escapeHtml(x.severity)}</td>${outcomeCells(x.outcomes)}<td class="num">${n(x.total)}</td></tr>`,
        )
        .join('');
      const head = `<tr><th>rule</th><th>kind</th><th>asks</th><th>severity</th>${OUTCOMES.map((o) => `<th class="num">${o}</th>`).join('')}<th class="num">total</th></tr>`;
      return `<section><h2>${escapeHtml(p.name)}</h2><p class="meta">${n(p.total)} violation(s), first ${escapeHtml(p.firstSeen)}, last ${escapeHtml(p.lastSeen)}</p>${stackedBars(p.rules.map((x) => ({ label: x.rule, parts: x.outcomes })))}<table class="rules">${head}${rows}</table>${p.rules.map(ruleBlock).join('')}</section>`;
    })
    .join('');
  const range = `${escapeHtml(r.since ?? 'the beginning')} to ${escapeHtml(r.until ?? 'now')}`;
  const seen = r.firstSeen
    ? ` · first seen ${escapeHtml(r.firstSeen)} · last seen ${escapeHtml(r.lastSeen ?? '')}`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="meta">${range}${seen}</p>
<div class="cards">${cards}</div>${warnings.map((w) => `<div class="warn">${w}</div>`).join('')}
${overview}${sections}
<p class="meta">would-block, would-kill and would-kill-after: what enforcing these policies would have done. denied and killed: what was stopped before it took effect. killed-after: the call completed, then the process was killed.</p>
</body></html>
`;
}
