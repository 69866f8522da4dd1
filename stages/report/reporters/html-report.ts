/**
 * report.html's text (see html.reporter.ts): its sections, charts and tables. Loaded when a report is written, not with
 * the plugins every run registers.
 */
import { ownGet } from '../../../src/util/keyed.js';
import type { AnyContext, BacktestRecord } from '../../../src/core/context.js';
import { metaHtml } from './meta-sections.js';
import { tournamentHtml } from './tournament-sections.js';
import type { ChildRuns, StageEnv } from '../../../src/core/plugin.js';
import type { HtmlParams } from './html.reporter.js';
import { isoFromDay } from '../../../src/util/dates.js';
import { correlationMatrix } from '../../../src/math/correlation.js';
import { drawdownSeries, equityCurve, rollingStats } from '../../../src/math/metrics.js';
import { leavesList } from '../../../src/math/ward.js';
import { dendrogramSvg, equityComparisonSpec, equityGapSpec, escapeXml as esc, funnelSpec, heatmapSpec, performanceSpec, renderSvg, rollingSpec, tradingSpec, weightsOverTimeSpec, weightsSpec } from '../../../src/report/charts.js';
import { cashText, floorText, heldCashText, latestDecisionText, universeText, droppedBySteps, driftText, MONTHS, monthlyGrid, num, passedOnceRelaxed, pct, regimePeriods, regimeSource, relativeRows, STEP_NAMES, tradingRows, vetoOrder, vetoOutcome, windowRows, type SelectionView } from './selection-sections.js';


/** A monthly return's cell colour: green for gains, red for losses, stronger with size (±20% is full). */
function heat(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '';
  const a = Math.min(1, Math.abs(x) / 0.2) * 0.55 + 0.05;
  return ` style="background:${x >= 0 ? `rgba(39,174,96,${a.toFixed(2)})` : `rgba(192,57,43,${a.toFixed(2)})`}"`;
}

function table(head: string[], rows: string[][], numeric: Set<number> = new Set()): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

/** report.html's text from the context (HtmlReporter.render, loaded with the first report). */
export async function renderHtmlReport(ctx: AnyContext, p: HtmlParams, env: StageEnv, childRuns: ChildRuns): Promise<string[]> {
  const title = p.title ?? env.pipeline.name;
  const sections: string[] = [];
  // A meta or tournament context has none of a selection's fields: read through the view, they are undefined.
  const sel: SelectionView = ctx;
  const bt = sel.backtest;
  if (ctx.kind === 'meta') sections.push(...(await metaHtml(ctx, 25)));
  const tournament = ctx.kind === 'tournament';
  if (ctx.kind === 'tournament') sections.push(...(await tournamentHtml(ctx, env, childRuns)));

  if (bt) {
    const m = bt.metrics;
    const b = m.benchmark ?? null;
    const rows: [string, string, string][] = [
      ['CAGR', pct(m.cagr), pct(b?.cagr)],
      ['Total return', pct(m.total_return), pct(b?.total_return)],
      ['Volatility (annual)', pct(m.volatility), pct(b?.volatility)],
      ['Sharpe', num(m.sharpe), num(b?.sharpe)],
      ['Sortino', num(m.sortino), num(b?.sortino)],
      ['Max drawdown', pct(m.max_drawdown), pct(b?.max_drawdown)],
      ['Calmar', num(m.calmar), num(b?.calmar)],
      ['Hit rate', pct(m.hit_rate), pct(b?.hit_rate)],
      ['Turnover (per rebalance)', pct(m.turnover), ''],
      ['Trading costs (total)', pct(m.costs), ''],
      ['Borrow on shorts (total)', pct(m.carry?.borrow), ''],
      ['Funding on perpetuals (total)', pct(m.carry?.funding), ''],
      ['Gross / net exposure (as of)', `${num(m.gross_exposure)} / ${num(m.net_exposure)}`, ''],
    ];
    // The book actually held, day by day (drifted since each decision), beside the targets the latest decision set.
    const rg = m.realised_gross_exposure;
    const rn = m.realised_net_exposure;
    if (rg && rn) rows.push(['Realised gross exposure (max / mean)', `${num(rg.max)} / ${num(rg.mean)}`, ''], ['Realised net exposure (min / max)', `${num(rn.min)} / ${num(rn.max)}`, '']);
    // With no benchmark there is no second column.
    const cols = b ? `<tr><th></th><th>portfolio</th><th>${esc(b.symbol)}</th></tr>` : '<tr><th></th><th>portfolio</th></tr>';
    const body = rows.map(([k, a, c]) => `<tr><td>${k}</td><td class="num">${a}</td>${b ? `<td class="num">${c}</td>` : ''}</tr>`).join('');
    const rel = relativeRows(bt);
    const band = m.volatility_band;
    const drift = driftText(bt);
    const verification = m.verification ?? [];
    const survivorship = universeText(bt);
    const cash = cashText(bt);
    const floor = floorText(bt);
    sections.push(`<h2>Performance${bt.challengers ? ` (${esc(bt.challengers.champion)} as champion)` : ''}</h2>${drift ? `<p class="flag">${esc(drift)}</p>` : ''}${cash ? `<p class="flag">${esc(cash)}</p>` : ''}${floor ? `<p class="flag">${esc(floor)}</p>` : ''}${survivorship ? `<p class="flag">${esc(survivorship)}</p>` : ''}<p class="muted">Out of sample: ${esc(String(m.first))} to ${esc(String(m.last))}, ${m.windows} walk-forward windows (each day's return comes from weights decided on data up to the day before), ${m.periods_per_year} periods a year. Carry (borrow, funding) is charged daily on exposure, apart from trading costs.${rg && rn ? ` Realised exposure: the book held at the start of each day (weights drifted since their decision, as multiples of the equity; a day in cash counts 0), over every day of the record: gross at most ${num(rg.max)} (${esc(rg.max_date)}), ${num(rg.mean)} on average; net from ${num(rn.min)} (${esc(rn.min_date)}) to ${num(rn.max)} (${esc(rn.max_date)}). The "as of" exposure is the targets of the latest decision.` : ''}</p>
<div class="side"><table class="metrics">${cols}${body}</table>${rel ? `<table class="metrics"><tr><th colspan="2">against ${esc(b!.symbol)}</th></tr>${rel.map(([k, v]) => `<tr><td>${k}</td><td class="num">${v}</td></tr>`).join('')}</table>` : ''}</div>
<p class="muted">Second-route check of Sharpe, CAGR and max drawdown: ${verification.every((v) => v.agrees) ? 'agrees' : `<b>disagrees</b> (${verification.filter((v) => !v.agrees).map((v) => v.metric).join(', ')})`}.${band ? ` Volatility band (${esc(band.engine)} ${pct(band.band)}): realised ${pct(band.realised)}, drift ${pct(band.drift)}${band.flagged ? ' <b>DRIFT</b>' : ', within it'}.` : ''}${rel ? ` Beta and alpha from an OLS fit of daily excess returns on ${esc(b!.symbol)}'s; alpha annualised arithmetically (docs/math.md).` : ''}</p>`);
    const bench = bt.benchmark && b ? { name: b.symbol, equity: equityCurve(bt.benchmark) } : undefined;
    const regimes = regimePeriods(bt);
    sections.push(await renderSvg(performanceSpec(bt.dates, equityCurve(bt.returns), drawdownSeries(bt.returns), bench, regimes)));
    const by = regimeSource(bt);
    if (regimes && by && by !== sel.champion) sections.push(`<p class="muted">Regimes as read by the ${esc(by)} ranker (a challenger: the champion reads none; allocation caps follow only the champion's).</p>`);

    const ppy = Number(m.periods_per_year ?? 365);
    const days = p.rolling_days ?? Math.round(ppy / 4);
    if (bt.dates.length > days) {
      const roll = rollingStats(bt.returns, days, ppy, Number(m.risk_free_rate ?? 0));
      sections.push(await renderSvg(rollingSpec(bt.dates, roll.sharpe, roll.volatility, days)));
    }
    const grid = monthlyGrid(bt);
    sections.push(`<h3>Monthly returns</h3><table class="monthly"><tr><th></th>${MONTHS.map((x) => `<th>${x}</th>`).join('')}<th>year</th></tr>${grid.years
      .map((y) => `<tr><th>${y.year}</th>${y.months.map((x) => `<td class="num"${heat(x?.return)}>${x ? pct(x.return, 1) : ''}</td>`).join('')}<td class="num year"${heat(y.total)}>${pct(y.total, 1)}</td></tr>`)
      .join('')}</table><p class="muted">Compounded within each calendar month; the year column compounds the months shown (a first or last year may be partial).</p>`);
    const trades = tradingRows(bt);
    sections.push(await renderSvg(tradingSpec(trades, [Math.min(bt.dates[0]!, trades[0]?.date ?? Infinity), bt.dates[bt.dates.length - 1]!])));
    const win = windowRows(bt);
    sections.push(`<details open><summary><b>Walk-forward windows (${bt.windows.length})</b></summary><p class="muted">Each rebalance: the decision date (its close is the last data the decision saw), the last day its weights were held (from the day after the decision), the allocation engine that made them (a fallback shows here), the regime it read, the holdings, the traded notional and trading costs (fractions of equity), the carry paid and the window's return.</p>${table(win.head, win.rows, win.numeric)}</details>`);
    const rows2 = bt.windows.flatMap((w) => w.weights.map((x) => ({ date: Math.round(Date.parse(`${w.as_of}T00:00:00Z`) / 86_400_000), symbol: x.symbol, weight: x.weight })));
    if (rows2.length) sections.push(await renderSvg(weightsOverTimeSpec(rows2)));
    if (bt.challengers) sections.push(...(await challengersHtml(bt.challengers, bt.dates)));
    if (bt.parity) sections.push(...(await parityHtml(bt.parity, bt.dates)));
  }

  if (sel.cash_reason !== undefined && !sel.weights?.length) {
    sections.push(`<h2>The latest decision</h2><p class="flag">${esc(heldCashText(sel.as_of !== undefined ? isoFromDay(sel.as_of) : undefined, sel.cash_reason))}</p>`);
  } else if (sel.weights?.length) {
    // The latest decision is not part of the record above: a reader must not take it for what earned it.
    const asOf = sel.as_of !== undefined ? isoFromDay(sel.as_of) : undefined;
    sections.push(`<h2>Weights of the latest decision</h2><p class="muted">${esc(latestDecisionText(asOf, bt ? String(bt.metrics.last) : undefined))} The selection and clusters below are this decision's.</p>`);
    sections.push(await renderSvg(weightsSpec(sel.weights.map((w) => ({ symbol: w.symbol, weight: w.weight })), `Weights as of ${asOf ?? 'the last rebalance'}`)));
  }

  const funnel = sel.discovery_funnel;
  if (funnel?.length || sel.raw_pool) {
    const steps: { step: string; count: number }[] = [];
    if (funnel?.length) steps.push({ step: 'universe', count: funnel[0].left });
    if (sel.raw_pool) steps.push({ step: 'discovery', count: sel.raw_pool.length });
    if (sel.vetoes && sel.features) steps.push({ step: 'after vetoes', count: sel.features.symbols.filter((s) => !ownGet(sel.vetoes, s)?.length).length });
    if (sel.winners) steps.push({ step: 'winners', count: sel.winners.length });
    if (sel.weights) steps.push({ step: 'held', count: sel.weights.filter((w) => w.weight !== 0).length });
    sections.push('<h2>Selection</h2>');
    sections.push(await renderSvg(funnelSpec(steps)));
    if (funnel?.length) sections.push(`<p class="muted">Discovery: ${funnel.map((f) => `${esc(f.step)} ${f.left}`).join(' → ')}</p>`);
    const dropped = droppedBySteps(sel);
    if (dropped.length)
      sections.push(`<p>Not candidates at the as-of date (each with why in candidates.json; <code>pipeline-run trace &lt;run&gt; SYMBOL</code> explains one):</p><table><tr><th>step</th><th>symbols</th></tr>${dropped
        .map((d) => `<tr><td>${esc(d.step)}<br><span class="muted">${esc(STEP_NAMES[d.step] ?? '')}</span></td><td>${d.dropped.slice(0, 40).map((x) => `<span title="${esc(x.reason)}">${esc(x.symbol)}</span>`).join(', ')}${d.dropped.length > 40 ? `, … ${d.dropped.length - 40} more` : ''}${d.step === 'fresh_at_as_of' || d.dropped.length <= 5 ? `<br><span class="muted">${d.dropped.slice(0, 10).map((x) => `${esc(x.symbol)}: ${esc(x.reason)}`).join('; ')}</span>` : ''}</td></tr>`)
        .join('')}</table>`);
  }

  if (sel.clusters?.linkage && sel.clusters.symbols.length > 1) {
    sections.push(`<h2>Clusters (${new Set(sel.clusters.labels).size})</h2>`);
    sections.push(dendrogramSvg(sel.clusters.linkage, sel.clusters.symbols, sel.clusters.labels));
    const r = sel.returns;
    if (r) {
      const idx = sel.clusters.symbols.map((s) => r.symbols.indexOf(s));
      if (idx.every((i) => i >= 0)) {
        const T = r.dates.length;
        const vals = new Float64Array(idx.length * T);
        idx.forEach((c, j) => vals.set(r.values.subarray(c * T, (c + 1) * T), j * T));
        const corr = correlationMatrix({ values: vals, nSymbols: idx.length, nDays: T }, { missing: 'pairwise', undefinedAs: 'zero' });
        const order = Array.from(leavesList(sel.clusters.linkage));
        const n = idx.length;
        const sorted = new Float64Array(n * n);
        for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) sorted[a * n + b] = corr[order[a] * n + order[b]];
        sections.push(await renderSvg(heatmapSpec(order.map((i) => sel.clusters!.symbols[i]), sorted)));
      }
    }
  }

  if (sel.vetoes && Object.keys(sel.vetoes).length) {
    const rows = vetoOrder(sel).map((sym) => [sym, sel.vetoes![sym]!] as const).flatMap(([sym, vs]) => vs.map((v, i) => `<tr><td>${i ? '' : esc(sym)}</td><td>${esc(v.filter)}</td><td>${esc(v.metric)}</td><td class="num">${num(v.value, 4)}</td><td class="num">${esc(String(v.threshold))}</td><td>${i ? '' : esc(vetoOutcome(sel, sym))}</td></tr>`));
    const relaxed = passedOnceRelaxed(sel);
    sections.push(`<h2>Vetoes (${Object.keys(sel.vetoes).length} symbols)</h2><p class="muted">At the thresholds the policy ended with${sel.htr?.stage && sel.htr.stage > 1 ? ' (relaxed)' : ''}. A symbol selected anyway had its veto overridden by a relaxation stage of the HTR loop.</p><table><tr><th>symbol</th><th>filter</th><th>metric</th><th>value</th><th>threshold</th><th>outcome</th></tr>${rows.join('')}</table>${relaxed.length ? `<p class="muted">Vetoed at the strict thresholds only, passed once relaxed: ${relaxed.map(esc).join(', ')}.</p>` : ''}`);
  }

  if (sel.raw_pool?.length) {
    const degraded = sel.raw_pool.filter((c) => c.metadata?.status === 'DEGRADED');
    // The status is the lakehouse's, judged on its files as they are now: a run as of an earlier date is told so, as
    // a finding may be dated after its as-of date (data it never read).
    const asOf = sel.as_of !== undefined ? isoFromDay(sel.as_of) : undefined;
    const later = asOf !== undefined && sel.raw_pool.some((c) => typeof c.metadata?.last_date === 'string' && (c.metadata.last_date as string) > asOf);
    const laterNote = later ? `<p class="muted">As the lakehouse's files are now, which run past this run's as-of date (${esc(asOf!)}): a finding may be dated after it; the decisions read nothing after it.</p>` : '';
    sections.push(`<h2>Data health</h2><p>${sel.raw_pool.length - degraded.length} of ${sel.raw_pool.length} inputs STABLE${degraded.length ? `; ${degraded.length} DEGRADED:` : '.'}</p>${
      degraded.length ? `<table><tr><th>symbol</th><th>reasons</th></tr>${degraded.map((c) => `<tr><td>${esc(c.symbol)}</td><td>${esc(((c.metadata?.reasons as string[]) ?? []).join('; '))}</td></tr>`).join('')}</table>` : ''
    }${laterNote}`);
  }

  const stages = env.pipeline.stages.map((s) => `<tr><td>${esc(s.type)}</td><td class="num">${s.ms === undefined ? '—' : `${s.ms.toFixed(0)} ms`}</td></tr>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#222;max-width:${tournament ? 1280 : 820}px;margin:2rem auto;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #e5e5e5;padding-bottom:.2rem}h3{margin:1.4rem 0 .3rem;font-size:15px}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}svg{max-width:100%;height:auto;display:block;margin:.5rem 0}
.small{font-size:12px}.wide{overflow-x:auto}table.ranked td,table.ranked th{padding:.2rem .4rem;white-space:nowrap}table.ranked th{font-size:12px;color:#444}
svg.bar{display:inline-block;margin:0}tr.champ{background:#fdf3e7}.tag{font-size:11px;color:#b35c00;border:1px solid #e6b27a;border-radius:3px;padding:0 3px}
.side{display:flex;gap:2rem;align-items:flex-start;flex-wrap:wrap}.flag{background:#fdecea;border-left:4px solid #c0392b;padding:.5rem .7rem;color:#7b1d12;font-weight:600}
table.monthly td,table.monthly th{padding:.2rem .35rem;font-size:12px}table.monthly td.year{font-weight:600;border-left:1px solid #ddd}
details summary{cursor:pointer;margin:1rem 0 .3rem}details table{font-size:12.5px}details td{white-space:nowrap}details td:last-child{white-space:normal}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="muted">Run ${esc(env.runId)} · config ${esc(env.pipeline.hash.slice(0, 12))}${env.dataHash() ? ` · data ${esc(env.dataHash()!)}` : ''}${sel.as_of !== undefined ? ` · as of ${isoFromDay(sel.as_of)}` : ''}${sel.regime ? ` · regime ${sel.regime}` : ''}</p>
${sections.join('\n')}
<h2>Stages</h2><table>${stages}</table>
</body></html>
`;
  await env.artifacts.writeText('report.html', html);
  return ['report.html'];
}

/** Champion and challengers side by side: one column per ranker, and their equity curves on one chart. */
async function challengersHtml(c: NonNullable<BacktestRecord['challengers']>, dates: Int32Array): Promise<string[]> {
  const keys = Object.keys(c.rankers);
  const rows: [string, (m: Record<string, unknown> & { carry?: { total: number } }) => string][] = [
    ['CAGR', (m) => pct(m.cagr)],
    ['Volatility (annual)', (m) => pct(m.volatility)],
    ['Sharpe', (m) => num(m.sharpe)],
    ['Sortino', (m) => num(m.sortino)],
    ['Max drawdown', (m) => pct(m.max_drawdown)],
    ['Calmar', (m) => num(m.calmar)],
    ['Hit rate', (m) => pct(m.hit_rate)],
    ['Turnover (per rebalance)', (m) => pct(m.turnover)],
    ['Trading costs (total)', (m) => pct(m.costs)],
    ['Carry (total)', (m) => pct(m.carry?.total)],
  ];
  const head = keys.map((k) => `<th>${esc(k)}${k === c.champion ? ' <span class="muted">(champion)</span>' : ''}</th>`).join('');
  const body = rows.map(([label, f]) => `<tr><td>${label}</td>${keys.map((k) => `<td class="num">${f(c.rankers[k]!.metrics)}</td>`).join('')}</tr>`).join('');
  const chart = await renderSvg(equityComparisonSpec(dates, keys.map((k) => ({ name: k, equity: equityCurve(c.returns[k]!) })), 'Equity by ranker as champion (out of sample)'));
  return [
    `<h2>Champion and challengers</h2><p class="muted">Each ranker as champion: every walk-forward decision re-made with it (discovery, features and scores shared) and held with the same costs, carry and calendar. All out of sample.</p><table class="metrics"><tr><th></th>${head}</tr>${body}</table>`,
    chart,
  ];
}

/** Parity: the same decisions held by the order-level simulator and the vectorized reference, side by side. */
async function parityHtml(p: NonNullable<BacktestRecord['parity']>, dates: Int32Array): Promise<string[]> {
  const r = p.record;
  const a = r.metrics[p.simulator]!;
  const b = r.metrics[p.reference]!;
  const rows: [string, (m: typeof a) => string, string][] = [
    ['Sharpe', (m) => num(m.sharpe, 3), num(r.differences.sharpe, 3)],
    ['CAGR', (m) => pct(m.cagr), pct(r.differences.cagr)],
    ['Max drawdown', (m) => pct(m.max_drawdown), pct(r.differences.max_drawdown)],
    ['Total return', (m) => pct(m.total_return), pct(r.differences.total_return)],
    ['Turnover (per rebalance)', (m) => pct(m.turnover), pct(r.differences.turnover)],
    ['Trading costs (total)', (m) => pct(m.costs), pct(r.differences.costs)],
    ['Carry (total)', (m) => pct(m.carry.total), pct(r.differences.carry)],
  ];
  const gap = r.largest_equity_gap;
  const settings = r.settings[p.simulator] as Record<string, unknown> | undefined;
  const fill = settings?.fill ? `fills at the ${settings.fill === 'close' ? 'decision\'s close' : 'next open'}` : '';
  const reasons = Object.entries(r.unfilled.by_reason).map(([why, n]) => `${n} ${esc(why)}`).join('; ');
  const ea = equityCurve(p.returns[p.simulator]!);
  const eb = equityCurve(p.returns[p.reference]!);
  const rel = Float64Array.from(ea, (x, i) => x / eb[i]! - 1);
  return [
    `<h2>Parity: ${esc(p.simulator)} against ${esc(p.reference)}</h2><p class="muted">The champion's decisions (the same net physical weights at every rebalance) held by the order-level simulator${fill ? ` (${esc(fill)}${settings?.capital ? `, capital ${esc(String(settings.capital))}` : ''})` : ''} and by the vectorized one, on the same calendar and costs: how far the vectorized backtest can be trusted. Differences are ${esc(p.simulator)} minus ${esc(p.reference)}.</p>
<table class="metrics"><tr><th></th><th>${esc(p.simulator)}</th><th>${esc(p.reference)}</th><th>difference</th></tr>${rows.map(([label, f, d]) => `<tr><td>${label}</td><td class="num">${f(a)}</td><td class="num">${f(b)}</td><td class="num">${d}</td></tr>`).join('')}</table>
<p class="muted">Tracking error (annual): ${pct(r.tracking_error)}. Largest equity gap: ${gap ? `${pct(gap.relative)} of the reference's equity on ${esc(gap.date)}` : '—'}. Orders not completed: ${r.unfilled.orders} of ${r.unfilled.of}${reasons ? ` (${reasons})` : ''}. Fills: ${r.fills.at_open} at an open, ${r.fills.at_close} at a close.</p>`,
    await renderSvg(equityComparisonSpec(dates, [{ name: p.simulator, equity: ea }, { name: p.reference, equity: eb }], 'Equity, same decisions, two simulators')),
    await renderSvg(equityGapSpec(dates, rel, `Equity gap (${p.simulator} / ${p.reference} − 1)`)),
  ];
}
