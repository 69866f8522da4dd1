/**
 * The meta pipeline's report sections, shared by the markdown and HTML reporters: sleeve allocations, the meta
 * walk-forward (what is out of sample, its metrics, every meta rebalance), sleeve correlation, the top physical
 * holdings with their attribution, and the tree.
 */
import { ownGet } from '../../../src/util/keyed.js';
import type { MetaContext, TreeNode } from '../../../src/core/context.js';
import { isoFromDay } from '../../../src/util/dates.js';
import { correlationMatrix } from '../../../src/math/correlation.js';
import { driftContributions } from '../../../src/math/attribution.js';
import { computeMetrics, drawdownSeries, equityCurve } from '../../../src/math/metrics.js';
import { contributionSpec, equityComparisonSpec, escapeXml as esc, heatmapSpec, performanceSpec, renderSvg, weightsOverTimeSpec, weightsSpec } from '../../../src/report/charts.js';

const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const fix = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');

function treeLines(n: TreeNode, depth = 0, scale = 1): string[] {
  const abs = scale * n.weight;
  const label = `${'  '.repeat(depth)}- ${n.name} (${n.kind}) ${pct(n.weight)} of parent, ${pct(abs)} of the whole${n.note ? ` — ${n.note}` : ''}${n.holdings ? `: ${n.holdings.length} holdings` : ''}`;
  return [label, ...(n.children ?? []).flatMap((c) => treeLines(c, depth + 1, abs))];
}

/** What is out of sample, said once for both reporters. */
function walkForwardNote(ctx: MetaContext): string | undefined {
  const m = ctx.meta_metrics;
  const a = ctx.meta_allocation;
  if (!m || !a) return undefined;
  return `Out of sample, every day from ${m.first} to ${m.last}: at each of ${m.rebalances} meta rebalances (every ${a.step_size} days) the meta weights were decided by ${a.requested_engine} on the sleeves' out-of-sample returns of the ${a.train_window} days up to that date and nothing later, then held with drift for ${a.test_window} days; the meta's trades are charged on the physical notional they flatten to (${fix(a.cost_bps)} bps). Each sleeve's own record is its walk-forward backtest's, out of sample too. Annualised at ${a.periods_per_year} periods a year (the sleeves' calendar as joined: sleeves.json). The weights shown are the decision as of ${m.weights_as_of}.`;
}

const metricRows = [['CAGR', 'cagr', 'pct'], ['volatility', 'volatility', 'pct'], ['Sharpe', 'sharpe', 'num'], ['max drawdown', 'max_drawdown', 'pct'], ['meta turnover per rebalance', 'turnover', 'pct'], ['physical turnover per rebalance', 'physical_turnover', 'pct'], ['costs (total)', 'costs', 'pct']] as const;

function rebalanceRows(ctx: MetaContext): string[][] {
  const names = ctx.sleeve_returns?.symbols ?? [];
  return (ctx.meta_rebalances ?? []).map((r) => [
    isoFromDay(r.as_of),
    r.start === undefined ? 'final (not held)' : `${isoFromDay(r.start)} to ${isoFromDay(r.end!)}`,
    r.engine,
    names.map((s) => `${s} ${pct(r.weights[s])}`).join(', '),
    pct(r.physical_turnover),
    r.start === undefined ? '—' : pct(r.return),
  ]);
}

/**
 * Each sleeve on the meta's out-of-sample days: its own record's equity, and its contribution to the meta's return
 * (its drifted meta weight × its return, day by day: src/math/attribution.ts); `costs` is what the meta's own trades
 * took (the meta's return minus the sum of the contributions). Contributions are return points, summed over days.
 */
export function sleeveAttribution(ctx: MetaContext): { dates: Int32Array; sleeves: { name: string; equity: Float64Array; cumulative: Float64Array; total: number; meanWeight: number; metrics: ReturnType<typeof computeMetrics> }[]; costs: Float64Array; ppy: number } | undefined {
  const R = ctx.sleeve_returns;
  const M = ctx.meta_returns;
  const rebalances = (ctx.meta_rebalances ?? []).filter((r) => r.start !== undefined && r.end !== undefined);
  if (!R || !M || !M.dates.length || !rebalances.length) return undefined;
  const contributions = driftContributions(R.dates, R.symbols, R.values, rebalances.map((r) => ({ start: r.start!, end: r.end!, weights: r.weights })));
  const T = R.dates.length;
  const at = new Map<number, number>();
  R.dates.forEach((d, t) => at.set(d, t));
  const rows = Array.from(M.dates, (d) => at.get(d) ?? -1);
  const ppy = Number(ctx.meta_metrics?.periods_per_year ?? 365);
  const costs = new Float64Array(M.dates.length);
  let costSum = 0;
  M.dates.forEach((_, i) => {
    const t = rows[i]!;
    let sum = 0;
    if (t >= 0) for (const c of contributions) sum += c[t]!;
    costSum += M.returns[i]! - sum;
    costs[i] = costSum;
  });
  const sleeves = R.symbols.map((name, j) => {
    const own = Float64Array.from(rows, (t) => (t >= 0 ? R.values[j * T + t]! : NaN));
    const cumulative = new Float64Array(M.dates.length);
    let c = 0;
    rows.forEach((t, i) => {
      if (t >= 0) c += contributions[j]![t]!;
      cumulative[i] = c;
    });
    const held = rebalances.map((r) => r.weights[name] ?? 0);
    return { name, equity: equityCurve(own), cumulative, total: c, meanWeight: held.reduce((a, w) => a + w, 0) / held.length, metrics: computeMetrics(own, ppy) };
  });
  return { dates: M.dates, sleeves, costs, ppy };
}

function attributionRows(a: NonNullable<ReturnType<typeof sleeveAttribution>>): string[][] {
  return [
    ...a.sleeves.map((s) => [s.name, pct(s.meanWeight), pct(s.metrics.total_return), fix(s.metrics.sharpe), pct(s.total)]),
    ['meta trading costs', '', '', '', pct(a.costs[a.costs.length - 1])],
  ];
}

const ATTRIBUTION_NOTE = "Over the meta's out-of-sample days: each sleeve's mean meta weight at the rebalances, its own record's return and Sharpe on those days, and its contribution to the meta's return (its drifted meta weight × its daily return, summed over the days: return points, not compounded). The contributions and the meta's trading costs add up to the sum of the meta's daily returns.";

/**
 * What leaving a sleeve out does to the record: a run that failed (or gave no returns) is left out of every day, the
 * days before its failure too. It is the one whole-history judgement a meta makes, so a reader is told.
 */
const LEFT_OUT_NOTE = "A sleeve left out is missing from every day of the meta's record, including the days before whatever made its run fail: on data that ended earlier its run might have succeeded, and the meta's past would then hold it. Fix the sleeve's run (its failed folder says why) before reading the record.";

export function metaMarkdown(ctx: MetaContext, top: number): string[] {
  const m = ctx.meta_metrics;
  const asOf = ctx.as_of !== undefined ? ` as of ${isoFromDay(ctx.as_of)}` : '';
  const lines: string[] = ['', '## Sleeves', '', `| sleeve | kind | meta weight${asOf} | source |`, '|---|---|---:|---|'];
  for (const s of ctx.sleeves) {
    const r = ownGet(ctx.sleeve_results, s.name);
    const w = ownGet(ctx.meta_weights, s.name);
    lines.push(`| ${s.name} | ${s.kind} | ${w !== undefined ? pct(w) : '—'} | ${r ? (r.cached ? `cache (${r.run})` : r.run) : `left out: ${ownGet(ctx.vetoed_sleeves, s.name) ?? ''}`} |`);
  }
  if (Object.keys(ctx.vetoed_sleeves ?? {}).length) lines.push('', `**${LEFT_OUT_NOTE}**`);
  const note = walkForwardNote(ctx);
  if (m && note) {
    lines.push('', '## Meta walk-forward', '', note, '', '| metric | value |', '|---|---:|');
    for (const [label, key, as] of metricRows) lines.push(`| ${label} | ${as === 'pct' ? pct(m[key]) : fix(m[key])} |`);
    lines.push('', '### Meta rebalances', '', '| as of | held | engine | meta weights | physical turnover | return |', '|---|---|---|---|---:|---:|');
    for (const row of rebalanceRows(ctx)) lines.push(`| ${row.join(' | ')} |`);
  }
  const att = sleeveAttribution(ctx);
  if (att) {
    lines.push('', '### Sleeve contributions', '', ATTRIBUTION_NOTE, '', '| sleeve | mean meta weight | sleeve return | sleeve Sharpe | contribution |', '|---|---:|---:|---:|---:|');
    for (const row of attributionRows(att)) lines.push(`| ${row.join(' | ')} |`);
  }
  if (ctx.flattened_weights) {
    lines.push('', `## Top holdings${asOf}`, '', '| symbol | weight | by sleeve |', '|---|---:|---|');
    for (const f of ctx.flattened_weights.slice(0, top)) lines.push(`| ${f.symbol} | ${pct(f.weight)} | ${Object.entries(f.sleeves).map(([s, c]) => `${s} ${pct(c)}`).join(', ')} |`);
  }
  if (ctx.cluster_tree) lines.push('', `## Tree${asOf}`, '', '(Every meta rebalance\'s tree is in meta_rebalances.json.)', '', ...treeLines(ctx.cluster_tree));
  return lines;
}

export async function metaHtml(ctx: MetaContext, top: number): Promise<string[]> {
  const out: string[] = [];
  const m = ctx.meta_metrics;
  const asOf = ctx.as_of !== undefined ? ` as of ${isoFromDay(ctx.as_of)}` : '';
  if (ctx.meta_weights) {
    out.push('<h2>Sleeve allocation</h2>');
    const mw = Object.entries(ctx.meta_weights).map(([symbol, weight]) => ({ symbol, weight }));
    // Shares of the meta's budget: drawn against the whole (0 to 100%), not against the largest one.
    const whole = mw.every((w) => w.weight >= 0 && w.weight <= 1);
    out.push(await renderSvg(weightsSpec(mw, `Meta weights${asOf} (${String(ctx.meta_engine ?? '')})`, whole ? [0, 1] : undefined)));
    const vetoed = Object.entries(ctx.vetoed_sleeves ?? {});
    if (vetoed.length) out.push(`<p class="flag">Left out: ${vetoed.map(([n, w]) => `<b>${esc(n)}</b> (${esc(w)})`).join(', ')}. ${esc(LEFT_OUT_NOTE)}</p>`);
  }
  const note = walkForwardNote(ctx);
  if (m && note && ctx.meta_returns) {
    out.push(`<h2>Meta walk-forward</h2><p class="muted">${esc(note)}</p><table>${metricRows.map(([label, key, as]) => `<tr><td>${label}</td><td class="num">${as === 'pct' ? pct(m[key]) : fix(m[key])}</td></tr>`).join('')}</table>`);
    out.push(await renderSvg(performanceSpec(ctx.meta_returns.dates, equityCurve(ctx.meta_returns.returns), drawdownSeries(ctx.meta_returns.returns), undefined, undefined, 'Meta equity (starts at 1) and drawdown')));
    const att = sleeveAttribution(ctx);
    if (att) {
      out.push(`<h3>Sleeves</h3><p class="muted">${esc(ATTRIBUTION_NOTE)}</p><table><tr><th>sleeve</th><th>mean meta weight</th><th>sleeve return</th><th>sleeve Sharpe</th><th>contribution</th></tr>${attributionRows(att)
        .map((row) => `<tr>${row.map((c, i) => `<td${i ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
        .join('')}</table>`);
      out.push(await renderSvg(equityComparisonSpec(att.dates, [{ name: 'meta', equity: equityCurve(ctx.meta_returns.returns) }, ...att.sleeves.map((x) => ({ name: x.name, equity: x.equity }))], "Each sleeve's own equity on the meta's out-of-sample days (starts at 1)", true)));
      out.push(await renderSvg(contributionSpec(att.dates, [...att.sleeves.map((x) => ({ name: x.name, cumulative: x.cumulative })), { name: 'meta trading costs', cumulative: att.costs }], 'Cumulative contribution to the meta return (return points)')));
    }
    const rows = (ctx.meta_rebalances ?? []).flatMap((r) => Object.entries(r.weights).map(([symbol, weight]) => ({ date: r.as_of, symbol, weight })));
    if (rows.length) out.push(await renderSvg(weightsOverTimeSpec(rows, 'Meta weights at each meta rebalance', 12, 'sleeve')));
    out.push(`<details><summary>Meta rebalances (${(ctx.meta_rebalances ?? []).length})</summary><table><tr><th>as of</th><th>held</th><th>engine</th><th>meta weights</th><th>physical turnover</th><th>return</th></tr>${rebalanceRows(ctx)
      .map((row) => `<tr>${row.map((c, i) => `<td${i >= 4 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
      .join('')}</table></details>`);
  }
  const R = ctx.sleeve_returns;
  if (R && R.symbols.length > 1) {
    const corr = correlationMatrix({ values: R.values, nSymbols: R.symbols.length, nDays: R.dates.length }, { missing: 'pairwise', undefinedAs: 'zero' });
    out.push(await renderSvg({ ...heatmapSpec(R.symbols, corr), title: "Sleeve correlation (the sleeves' out-of-sample records)" }));
  }
  if (ctx.flattened_weights) {
    out.push(`<h2>Top holdings${asOf}</h2><table><tr><th>symbol</th><th>weight</th><th>by sleeve</th></tr>${ctx.flattened_weights
      .slice(0, top)
      .map((f) => `<tr><td>${esc(f.symbol)}</td><td class="num">${pct(f.weight)}</td><td>${Object.entries(f.sleeves).map(([s, c]) => `${esc(s)} ${pct(c)}`).join(', ')}</td></tr>`)
      .join('')}</table>`);
  }
  if (ctx.cluster_tree) out.push(`<h2>Tree${asOf}</h2><p class="muted">Every meta rebalance's tree is in meta_rebalances.json.</p><pre>${esc(treeLines(ctx.cluster_tree).join('\n'))}</pre>`);
  return out;
}
