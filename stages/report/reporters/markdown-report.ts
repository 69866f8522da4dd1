/**
 * report.md's text (see markdown.reporter.ts). Loaded when a report is written, not with the plugins every run
 * registers.
 */
import type { StageEnv } from '../../../src/core/plugin.js';
import type { MarkdownParams } from './markdown.reporter.js';
import type { AnyContext, BacktestParity } from '../../../src/core/context.js';
import { metaMarkdown } from './meta-sections.js';
import { tournamentMarkdown } from './tournament-sections.js';
import { isoFromDay } from '../../../src/util/dates.js';
import { wholeNumber } from '../../../src/util/words.js';
import { cashText, floorText, heldCashText, latestDecisionText, universeText, droppedBySteps, driftText, MONTHS, monthlyGrid, passedOnceRelaxed, pct as pctOf, relativeRows, STEP_NAMES, vetoOrder, vetoOutcome, windowRows, type SelectionView } from './selection-sections.js';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const fmt = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '—');

/** report.md's text from the context (MarkdownReporter.render, loaded with the first report). */
export async function renderMarkdownReport(ctx: AnyContext, p: MarkdownParams, env: StageEnv): Promise<string[]> {
  const top = p.top;
  const data = env.dataHash();
  const lines: string[] = [`# ${env.pipeline.name}`, '', `Run \`${env.runId}\` · config \`${env.pipeline.hash.slice(0, 12)}\`${data ? ` · data \`${data}\`` : ''}`, ''];
  lines.push('## Stages', '', '| stage | time |', '|---|---:|');
  // The report stage is still running while it writes this, so it has no time yet.
  for (const s of env.pipeline.stages) lines.push(`| ${s.type} | ${s.ms === undefined ? '—' : `${s.ms.toFixed(0)} ms`} |`);
  if (ctx.kind === 'meta') lines.push(...metaMarkdown(ctx, top));
  if (ctx.kind === 'tournament') lines.push(...tournamentMarkdown(ctx, env));
  // A meta or tournament context has none of a selection's fields: read through the view, they are undefined.
  const sel: SelectionView = ctx;
  const bt = sel.backtest;
  if (bt?.metrics) {
    const m = bt.metrics;
    const b = m.benchmark ?? null;
    const f = (x: unknown, as: 'pct' | 'num') => (typeof x === 'number' && Number.isFinite(x) ? (as === 'pct' ? pct(x) : x.toFixed(2)) : '—');
    const rows = [['CAGR', 'cagr', 'pct'], ['total return', 'total_return', 'pct'], ['volatility', 'volatility', 'pct'], ['Sharpe', 'sharpe', 'num'], ['Sortino', 'sortino', 'num'], ['max drawdown', 'max_drawdown', 'pct'], ['Calmar', 'calmar', 'num'], ['hit rate', 'hit_rate', 'pct'], ['turnover per rebalance', 'turnover', 'pct'], ['trading costs', 'costs', 'pct'], ['borrow on shorts', 'carry.borrow', 'pct'], ['funding on perpetuals', 'carry.funding', 'pct']] as const;
    const at = (o: Record<string, unknown>, key: string) => key.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
    lines.push('', '## Performance', '');
    const drift = driftText(bt);
    if (drift) lines.push(`**${drift}**`, '');
    const cash = cashText(bt);
    if (cash) lines.push(`**${cash}**`, '');
    const floor = floorText(bt);
    if (floor) lines.push(`**${floor}**`, '');
    const survivorship = universeText(bt);
    if (survivorship) lines.push(`**${survivorship}**`, '');
    lines.push(`Walk-forward, out of sample: ${m.windows} windows, ${m.first} to ${m.last} (each day's return comes from weights decided on data up to the day before). Carry (borrow, funding) is charged daily on exposure, apart from trading costs.`, '');
    // A benchmark column only when there is a benchmark.
    if (b) lines.push(`| metric | portfolio | ${b.symbol} |`, '|---|---:|---:|');
    else lines.push('| metric | value |', '|---|---:|');
    const benchKeys = new Set(['cagr', 'total_return', 'volatility', 'sharpe', 'sortino', 'max_drawdown', 'calmar', 'hit_rate']);
    for (const [label, key, as] of rows) lines.push(`| ${label} | ${f(at(m, key), as)} |${b ? ` ${benchKeys.has(key) ? f(at(b, key), as) : ''} |` : ''}`);
    // The book actually held, day by day (start-of-day drifted weights; a day in cash counts 0).
    const rg = m.realised_gross_exposure;
    const rn = m.realised_net_exposure;
    if (rg && rn) lines.push(`| realised gross exposure, max (${rg.max_date}) / mean | ${f(rg.max, 'num')} / ${f(rg.mean, 'num')} |${b ? ' |' : ''}`, `| realised net exposure, min (${rn.min_date}) / max (${rn.max_date}) | ${f(rn.min, 'num')} / ${f(rn.max, 'num')} |${b ? ' |' : ''}`);
    const rel = relativeRows(bt);
    if (rel) {
      lines.push('', `Against ${b!.symbol} (daily, on the same days; beta and alpha from an OLS fit of excess returns, alpha annualised arithmetically):`, '', '| | |', '|---|---:|');
      for (const [k, v] of rel) lines.push(`| ${k} | ${v} |`);
    }
    const grid = monthlyGrid(bt);
    lines.push('', '### Monthly returns', '', `| year | ${MONTHS.join(' | ')} | year |`, `|---|${MONTHS.map(() => '---:').join('|')}|---:|`);
    for (const y of grid.years) lines.push(`| ${y.year} | ${y.months.map((x) => (x ? pctOf(x.return, 1) : '')).join(' | ')} | ${pctOf(y.total, 1)} |`);
    const win = windowRows(bt);
    lines.push('', `### Walk-forward windows (${bt.windows.length})`, '', `| ${win.head.join(' | ')} |`, `|${win.head.map((_, i) => (win.numeric.has(i) ? '---:' : '---')).join('|')}|`);
    for (const r of win.rows) lines.push(`| ${r.map((c) => c.replace(/\|/g, '/')).join(' | ')} |`);
    if (bt.challengers) {
      const keys = Object.keys(bt.challengers.rankers);
      lines.push('', '## Champion and challengers', '', 'Each ranker as champion: every walk-forward decision re-made with it and held with the same costs, carry and calendar (out of sample).', '', `| metric | ${keys.map((k) => (k === bt.challengers!.champion ? `${k} (champion)` : k)).join(' | ')} |`, `|---|${keys.map(() => '---:').join('|')}|`);
      const shared = rows.filter(([, key]) => !key.startsWith('carry.') && key !== 'total_return');
      for (const [label, key, as] of [...shared, ['carry', 'carry.total', 'pct']] as const) lines.push(`| ${label} | ${keys.map((k) => f(at(bt.challengers!.rankers[k]!.metrics, key), as)).join(' | ')} |`);
    }
    if (bt.parity) lines.push(...parityMarkdown(bt.parity));
  }
  const funnel = sel.discovery_funnel;
  if (funnel?.length) lines.push('', '## Discovery', '', funnel.map((s) => `${s.step} ${s.left}`).join(' → '));
  const dropped = droppedBySteps(sel);
  if (dropped.length) {
    lines.push('', 'Not candidates at the as-of date (every one with why in candidates.json; `pipeline-run trace <run> SYMBOL` explains one):', '');
    for (const d of dropped) {
      lines.push(`- ${d.step}${STEP_NAMES[d.step] ? ` (${STEP_NAMES[d.step]})` : ''}: ${d.dropped.length}`);
      for (const x of d.dropped.slice(0, top)) lines.push(`  - ${x.symbol}: ${x.reason}`);
      if (d.dropped.length > top) lines.push(`  - … ${d.dropped.length - top} more`);
    }
  }
  if (sel.raw_pool) {
    lines.push('', `## Candidates (${sel.raw_pool.length})`, '', '| symbol | venue | asset type | sector | 24h volume |', '|---|---|---|---|---:|');
    for (const c of sel.raw_pool.slice(0, top))
      lines.push(`| ${c.symbol} | ${c.venue ?? c.exchange ?? ''} | ${c.asset_type ?? ''} | ${c.sector ?? ''} | ${c.volume_24h === undefined ? '' : wholeNumber(c.volume_24h)} |`);
    if (sel.raw_pool.length > top) lines.push(`| … ${sel.raw_pool.length - top} more | | | | |`);
  }
  if (sel.returns) {
    const r = sel.returns;
    const span = r.dates.length ? `${isoFromDay(r.dates[0])} to ${isoFromDay(r.dates[r.dates.length - 1])}` : 'no dates';
    lines.push('', '## Returns', '', `${r.symbols.length} symbols × ${r.dates.length} days, ${span}.`);
  }
  if (sel.features) {
    const f = sel.features;
    const shown = ['momentum', 'volatility', 'max_drawdown', 'entropy', 'hurst', 'efficiency'].filter((k) => f.names.includes(k));
    const order = f.values.momentum ? [...f.symbols.keys()].sort((a, b) => (f.values.momentum[b] || -Infinity) - (f.values.momentum[a] || -Infinity)) : [...f.symbols.keys()];
    lines.push('', `## Features (${f.symbols.length} symbols${f.values.momentum ? ', by momentum' : ''})`, '', `| symbol | ${shown.join(' | ')} |`, `|---|${shown.map(() => '---:').join('|')}|`);
    for (const j of order.slice(0, top)) lines.push(`| ${f.symbols[j]} | ${shown.map((k) => fmt(f.values[k][j])).join(' | ')} |`);
  }
  if (sel.vetoes && Object.keys(sel.vetoes).length) {
    lines.push('', '## Vetoes', '', 'At the thresholds the policy ended with. A symbol selected anyway had its veto overridden by a relaxation stage of the HTR loop.', '', '| symbol | filter | metric | value | threshold | outcome |', '|---|---|---|---:|---:|---|');
    for (const sym of vetoOrder(sel)) sel.vetoes[sym]!.forEach((v, i) => lines.push(`| ${i ? '' : sym} | ${v.filter} | ${v.metric} | ${fmt(v.value)} | ${v.threshold} | ${i ? '' : vetoOutcome(sel, sym)} |`));
    const relaxed = passedOnceRelaxed(sel);
    if (relaxed.length) lines.push('', `Vetoed at the strict thresholds only, passed once relaxed: ${relaxed.join(', ')}.`);
  }
  if (sel.winners) lines.push('', `## Winners (${sel.winners.length})`, '', sel.winners.join(', '));
  if (sel.cash_reason !== undefined && !sel.weights?.length) {
    lines.push('', '## The latest decision', '', `**${heldCashText(sel.as_of !== undefined ? isoFromDay(sel.as_of) : undefined, sel.cash_reason)}**`);
  } else if (sel.weights) {
    lines.push('', '## Weights of the latest decision', '', latestDecisionText(sel.as_of !== undefined ? isoFromDay(sel.as_of) : undefined, sel.backtest ? String(sel.backtest.metrics.last) : undefined), '', '| symbol | direction | weight |', '|---|---|---:|');
    for (const w of [...sel.weights].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, top)) lines.push(`| ${w.symbol} | ${w.direction} | ${pct(w.weight)} |`);
  }
  lines.push('');
  await env.artifacts.writeText('report.md', lines.join('\n'));
  return ['report.md'];
}

/** Parity (parity.json): the same decisions held by two simulators, side by side. */
function parityMarkdown(p: BacktestParity): string[] {
  const r = p.record;
  const a = r.metrics[p.simulator]!;
  const b = r.metrics[p.reference]!;
  const f = (x: number, as: 'pct' | 'num') => (Number.isFinite(x) ? (as === 'pct' ? pct(x) : x.toFixed(3)) : '—');
  const rows: [string, (m: typeof a) => number, number, 'pct' | 'num'][] = [
    ['Sharpe', (m) => m.sharpe, r.differences.sharpe, 'num'],
    ['CAGR', (m) => m.cagr, r.differences.cagr, 'pct'],
    ['max drawdown', (m) => m.max_drawdown, r.differences.max_drawdown, 'pct'],
    ['total return', (m) => m.total_return, r.differences.total_return, 'pct'],
    ['turnover per rebalance', (m) => m.turnover, r.differences.turnover, 'pct'],
    ['trading costs', (m) => m.costs, r.differences.costs, 'pct'],
    ['carry', (m) => m.carry.total, r.differences.carry, 'pct'],
  ];
  const gap = r.largest_equity_gap;
  return [
    '', `## Parity: ${p.simulator} against ${p.reference}`, '',
    `The champion's decisions held by both simulators on the same calendar and costs (parity.json). Differences are ${p.simulator} minus ${p.reference}.`, '',
    `| metric | ${p.simulator} | ${p.reference} | difference |`, '|---|---:|---:|---:|',
    ...rows.map(([label, get, d, as]) => `| ${label} | ${f(get(a), as)} | ${f(get(b), as)} | ${f(d, as)} |`),
    '', `Tracking error ${pct(r.tracking_error)} a year; largest equity gap ${gap ? `${pct(gap.relative)} on ${gap.date}` : '—'}; orders not completed: ${r.unfilled.orders} of ${r.unfilled.of}; fills: ${r.fills.at_open} at an open, ${r.fills.at_close} at a close.`,
  ];
}
