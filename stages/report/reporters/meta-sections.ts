/**
 * The meta pipeline's report sections, shared by the markdown and HTML reporters: sleeve allocations, the meta
 * walk-forward (what is out of sample, its metrics, every meta rebalance), sleeve correlation, the top physical
 * holdings with their attribution, and the tree.
 */
import { ownGet } from '../../../src/util/keyed.js';
import type { MetaContext, TreeNode } from '../../../src/core/context.js';
import { isoFromDay } from '../../../src/util/dates.js';
import { correlationMatrix } from '../../../src/math/correlation.js';
import { drawdownSeries, equityCurve } from '../../../src/math/metrics.js';
import { drawdownSpec, equitySpec, escapeXml as esc, heatmapSpec, renderSvg, weightsOverTimeSpec, weightsSpec } from '../../../src/report/charts.js';

const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const fix = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');

function treeLines(n: TreeNode, depth = 0, scale = 1): string[] {
  const abs = scale * n.weight;
  const label = `${'  '.repeat(depth)}- ${n.name} (${n.kind}) ${pct(n.weight)} of parent, ${pct(abs)} of the whole${n.note ? ` — ${n.note}` : ''}${n.holdings ? `: ${n.holdings.length} holdings` : ''}`;
  return [label, ...(n.children ?? []).flatMap((c) => treeLines(c, depth + 1, abs))];
}

/** What is out of sample, said once for both reporters. */
function walkForwardNote(ctx: MetaContext): string | undefined {
  const m = ctx.extra.meta_metrics as Record<string, unknown> | undefined;
  const a = ctx.extra.meta_allocation as Record<string, unknown> | undefined;
  if (!m || !a) return undefined;
  return `Out of sample, every day from ${m.first} to ${m.last}: at each of ${m.rebalances} meta rebalances (every ${a.step_size} days) the meta weights were decided by ${a.requested_engine} on the sleeves' out-of-sample returns of the ${a.train_window} days up to that date and nothing later, then held with drift for ${a.test_window} days; the meta's trades are charged on the physical notional they flatten to (${fix(a.cost_bps)} bps). Each sleeve's own record is its walk-forward backtest's, out of sample too. The weights shown are the decision as of ${m.weights_as_of}.`;
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

export function metaMarkdown(ctx: MetaContext, top: number): string[] {
  const m = ctx.extra.meta_metrics as Record<string, unknown> | undefined;
  const asOf = ctx.as_of !== undefined ? ` as of ${isoFromDay(ctx.as_of)}` : '';
  const lines: string[] = ['', '## Sleeves', '', `| sleeve | kind | meta weight${asOf} | source |`, '|---|---|---:|---|'];
  for (const s of ctx.sleeves) {
    const r = ownGet(ctx.sleeve_results, s.name);
    const w = ownGet(ctx.meta_weights, s.name);
    lines.push(`| ${s.name} | ${s.kind} | ${w !== undefined ? pct(w) : '—'} | ${r ? (r.cached ? `cache (${r.run})` : r.run) : `left out: ${ownGet(ctx.vetoed_sleeves, s.name) ?? ''}`} |`);
  }
  const note = walkForwardNote(ctx);
  if (m && note) {
    lines.push('', '## Meta walk-forward', '', note, '', '| metric | value |', '|---|---:|');
    for (const [label, key, as] of metricRows) lines.push(`| ${label} | ${as === 'pct' ? pct(m[key]) : fix(m[key])} |`);
    lines.push('', '### Meta rebalances', '', '| as of | held | engine | meta weights | physical turnover | return |', '|---|---|---|---|---:|---:|');
    for (const row of rebalanceRows(ctx)) lines.push(`| ${row.join(' | ')} |`);
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
  const m = ctx.extra.meta_metrics as Record<string, unknown> | undefined;
  const asOf = ctx.as_of !== undefined ? ` as of ${isoFromDay(ctx.as_of)}` : '';
  if (ctx.meta_weights) {
    out.push('<h2>Sleeve allocation</h2>');
    out.push(await renderSvg({ ...weightsSpec(Object.entries(ctx.meta_weights).map(([symbol, weight]) => ({ symbol, weight }))), title: `Meta weights${asOf} (${esc(String(ctx.extra.meta_engine ?? ''))})` }));
    const vetoed = Object.entries(ctx.vetoed_sleeves ?? {});
    if (vetoed.length) out.push(`<p>Left out: ${vetoed.map(([n, w]) => `<b>${esc(n)}</b> (${esc(w)})`).join(', ')}.</p>`);
  }
  const note = walkForwardNote(ctx);
  if (m && note && ctx.meta_returns) {
    out.push(`<h2>Meta walk-forward</h2><p class="muted">${esc(note)}</p><table>${metricRows.map(([label, key, as]) => `<tr><td>${label}</td><td class="num">${as === 'pct' ? pct(m[key]) : fix(m[key])}</td></tr>`).join('')}</table>`);
    out.push(await renderSvg(equitySpec(ctx.meta_returns.dates, equityCurve(ctx.meta_returns.returns))));
    out.push(await renderSvg(drawdownSpec(ctx.meta_returns.dates, drawdownSeries(ctx.meta_returns.returns))));
    const rows = (ctx.meta_rebalances ?? []).flatMap((r) => Object.entries(r.weights).map(([symbol, weight]) => ({ date: r.as_of, symbol, weight })));
    if (rows.length) {
      const spec = weightsOverTimeSpec(rows) as { encoding: { color: Record<string, unknown> } };
      out.push(await renderSvg({ ...spec, title: 'Meta weights at each meta rebalance', encoding: { ...spec.encoding, color: { ...spec.encoding.color, title: 'sleeve' } } }));
    }
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
