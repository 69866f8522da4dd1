/**
 * The meta pipeline's report sections, shared by the markdown and HTML reporters: sleeve allocations, sleeve
 * correlation, the tree, the combined equity and metrics, the top physical holdings with their attribution.
 */
import type { MetaContext, TreeNode } from '../../../src/core/context.js';
import { correlationMatrix } from '../../../src/math/correlation.js';
import { drawdownSeries, equityCurve } from '../../../src/math/metrics.js';
import { drawdownSpec, equitySpec, escapeXml as esc, heatmapSpec, renderSvg, weightsSpec } from '../../../src/report/charts.js';

const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '—');
const fix = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');

function treeLines(n: TreeNode, depth = 0, scale = 1): string[] {
  const abs = scale * n.weight;
  const label = `${'  '.repeat(depth)}- ${n.name} (${n.kind}) ${pct(n.weight)} of parent, ${pct(abs)} of the whole${n.note ? ` — ${n.note}` : ''}${n.holdings ? `: ${n.holdings.length} holdings` : ''}`;
  return [label, ...(n.children ?? []).flatMap((c) => treeLines(c, depth + 1, abs))];
}

export function metaMarkdown(ctx: MetaContext, top: number): string[] {
  const m = ctx.extra.meta_metrics as Record<string, unknown> | undefined;
  const lines: string[] = ['', '## Sleeves', '', '| sleeve | kind | meta weight | source |', '|---|---|---:|---|'];
  for (const s of ctx.sleeves) {
    const r = ctx.sleeve_results?.[s.name];
    lines.push(`| ${s.name} | ${s.kind} | ${ctx.meta_weights?.[s.name] !== undefined ? pct(ctx.meta_weights[s.name]) : '—'} | ${r ? (r.cached ? `cache (${r.run})` : r.run) : `left out: ${ctx.vetoed_sleeves?.[s.name] ?? ''}`} |`);
  }
  if (m) {
    lines.push('', '## Combined performance', '', `The sleeves' out-of-sample returns weighted by the meta weights, ${m.first} to ${m.last}; meta engine ${m.engine}. The meta weights are fitted on these same returns: in sample for the meta decision.`, '', '| metric | value |', '|---|---:|');
    for (const [label, key, as] of [['CAGR', 'cagr', 'pct'], ['volatility', 'volatility', 'pct'], ['Sharpe', 'sharpe', 'num'], ['max drawdown', 'max_drawdown', 'pct']] as const) lines.push(`| ${label} | ${as === 'pct' ? pct(m[key]) : fix(m[key])} |`);
  }
  if (ctx.flattened_weights) {
    lines.push('', '## Top holdings', '', '| symbol | weight | by sleeve |', '|---|---:|---|');
    for (const f of ctx.flattened_weights.slice(0, top)) lines.push(`| ${f.symbol} | ${pct(f.weight)} | ${Object.entries(f.sleeves).map(([s, c]) => `${s} ${pct(c)}`).join(', ')} |`);
  }
  if (ctx.cluster_tree) lines.push('', '## Tree', '', ...treeLines(ctx.cluster_tree));
  return lines;
}

export async function metaHtml(ctx: MetaContext, top: number): Promise<string[]> {
  const out: string[] = [];
  const m = ctx.extra.meta_metrics as Record<string, unknown> | undefined;
  if (ctx.meta_weights) {
    out.push('<h2>Sleeve allocation</h2>');
    out.push(await renderSvg({ ...weightsSpec(Object.entries(ctx.meta_weights).map(([symbol, weight]) => ({ symbol, weight }))), title: `Meta weights (${esc(String(ctx.extra.meta_engine ?? ''))})` }));
    const vetoed = Object.entries(ctx.vetoed_sleeves ?? {});
    if (vetoed.length) out.push(`<p>Left out: ${vetoed.map(([n, w]) => `<b>${esc(n)}</b> (${esc(w)})`).join(', ')}.</p>`);
  }
  const R = ctx.sleeve_returns;
  if (R && R.symbols.length > 1) {
    const corr = correlationMatrix({ values: R.values, nSymbols: R.symbols.length, nDays: R.dates.length }, { missing: 'pairwise', undefinedAs: 'zero' });
    out.push(await renderSvg({ ...heatmapSpec(R.symbols, corr), title: 'Sleeve correlation (out of sample)' }));
  }
  if (m && ctx.meta_returns) {
    out.push(`<h2>Combined performance</h2><p class="muted">The sleeves' out-of-sample returns weighted by the meta weights; the meta weights are fitted on these same returns (in sample for the meta decision).</p><table><tr><td>CAGR</td><td class="num">${pct(m.cagr)}</td></tr><tr><td>Volatility</td><td class="num">${pct(m.volatility)}</td></tr><tr><td>Sharpe</td><td class="num">${fix(m.sharpe)}</td></tr><tr><td>Max drawdown</td><td class="num">${pct(m.max_drawdown)}</td></tr></table>`);
    out.push(await renderSvg(equitySpec(ctx.meta_returns.dates, equityCurve(ctx.meta_returns.returns))));
    out.push(await renderSvg(drawdownSpec(ctx.meta_returns.dates, drawdownSeries(ctx.meta_returns.returns))));
  }
  if (ctx.flattened_weights) {
    out.push(`<h2>Top holdings</h2><table><tr><th>symbol</th><th>weight</th><th>by sleeve</th></tr>${ctx.flattened_weights
      .slice(0, top)
      .map((f) => `<tr><td>${esc(f.symbol)}</td><td class="num">${pct(f.weight)}</td><td>${Object.entries(f.sleeves).map(([s, c]) => `${esc(s)} ${pct(c)}`).join(', ')}</td></tr>`)
      .join('')}</table>`);
  }
  if (ctx.cluster_tree) out.push(`<h2>Tree</h2><pre>${esc(treeLines(ctx.cluster_tree).join('\n'))}</pre>`);
  return out;
}
