/**
 * The tournament's report sections, shared by the markdown and HTML reporters: what was compared and on which
 * days, the ranked table with interval bars and links to each cell's run, the intervals, a heat map over two matrix
 * axes, the PBO logit histogram, the equity of the top cells against the champion, failed cells, and what the
 * numbers cannot say for this tournament.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CellComparison, Comparison, HoldingsFloor, TournamentContext } from '../../../src/core/context.js';
import type { ChildRuns, StageEnv } from '../../../src/core/plugin.js';
import { idPart } from '../../../src/config/tournament.js';
import { tournamentOf, type ResolvedTournament } from '../../../src/core/resolved-config.js';
import { correlationMatrix } from '../../../src/math/correlation.js';
import { equityCurve } from '../../../src/math/metrics.js';
import { axesHeatmapSpec, cellsEquitySpec, escapeXml as esc, intervalSpec, logitHistogramSpec, renderSvg } from '../../../src/report/charts.js';
import { canonicalJson, sha256 } from '../../../src/util/hash.js';
import { readEntry, writeEntry } from '../../../src/runs/result-cache.js';

const pct = (x: unknown, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : '—');
const fix = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
/** A probability to two places, never rounded to a certainty it is not: 0.9965 is "> 0.99", 0.003 "< 0.01". */
const prob = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? (x > 0.99 && x < 1 ? '> 0.99' : x < 0.01 && x > 0 ? '< 0.01' : x.toFixed(2)) : '—');
const pval = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? (x < 0.001 ? '<0.001' : x.toFixed(3)) : '—');

interface View {
  t: ResolvedTournament;
  json: NonNullable<TournamentContext['comparison']>['json'];
  ranked: CellComparison[];
  failed: CellComparison[];
  links: Map<string, { href: string; label: string }>;
  warnings: string[];
}

function view(ctx: TournamentContext, env: StageEnv): View | undefined {
  const c = ctx.comparison;
  if (!c) return undefined;
  const t = tournamentOf(env.pipeline.config);
  const json = c.json;
  const ranked = json.cells.filter((x) => x.rank !== null).sort((a, b) => a.rank! - b.rank!);
  const failed = json.cells.filter((x) => x.outcome === 'failed');
  // A cell's run folder, from this run's folder (fresh runs: inside it; cache hits: an earlier run's).
  const links = new Map<string, { href: string; label: string }>();
  for (const cell of ctx.cells ?? []) {
    if (!cell.run) continue;
    const from = cell.cached ? env.finalRunDir : env.runDir;
    const file = ['report.html', 'report.md', 'metrics.json'].find((f) => existsSync(resolve(from, cell.run!, f)));
    links.set(cell.id, { href: file ? join(cell.run, file) : cell.run, label: file === 'report.html' ? 'report' : file ?? 'run' });
  }
  return { t, json, ranked, failed, links, warnings: caveats(ctx, json) };
}

/** What the numbers cannot say for this tournament (docs/tournaments.md, "When not to trust them"). */
function caveats(ctx: TournamentContext, json: View['json']): string[] {
  const out: string[] = [];
  const T = json.calendar.days;
  const N = json.deflation.trials;
  if (T < 365) out.push(`Only ${T} common days: every interval is wide and PSR, the Ledoit–Wolf test and PBO rest on asymptotics that need more.`);
  const rebalances = (ctx.cells ?? []).map((c) => c.result?.record?.rebalances).filter((r): r is number => typeof r === 'number');
  if (rebalances.length && Math.min(...rebalances) < 12) out.push(`Some cells rebalance only ${Math.min(...rebalances)} times: a handful of decisions drive their whole record, which the day-level bootstrap does not see.`);
  const comp = ctx.comparison!;
  if (comp.ids.length > 1) {
    const n = comp.ids.length;
    const corr = correlationMatrix({ values: comp.values, nSymbols: n, nDays: comp.dates.length }, { missing: 'complete', undefinedAs: 'zero' });
    let s = 0;
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) s += corr[a * n + b];
    const mean = s / ((n * (n - 1)) / 2);
    if (mean > 0.8) out.push(`The cells overlap heavily (mean pairwise correlation of their daily returns ${mean.toFixed(2)}): they are not ${n} independent trials, so the deflation (which counts ${N}) is conservative and small Sharpe differences are within noise.`);
  }
  out.push(...basisText(json), ...floorText(json));
  if (comp.ids.length > 1) out.push(...sharedStart(comp), ...cashDays(comp, ctx));
  if (N > 1) out.push(`${N} cells were tried: the best of them looks better than it is by luck alone (about ${fix(json.deflation.threshold_sharpe * Math.sqrt(json.periods_per_year))} of annualised Sharpe here, SR0). DSR accounts for that; P(beats champion) and the Ledoit–Wolf p are per cell, not adjusted for testing every cell against the champion: the Holm column is (read a cell as better than the champion only where it is small and its Sharpe is the higher).`);
  if (json.pbo.value === null && json.pbo.reason) out.push(`PBO not computed: ${json.pbo.reason}.`);
  return out;
}

type Compared = NonNullable<TournamentContext['comparison']>;
const isoDay = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

/**
 * The first compared days on which every cell earned exactly the same (the same book: too few candidates yet for any
 * setting to choose differently). They weigh on every cell alike, and with a large move in them they make every
 * level (CAGR, Sharpe, PSR, DSR) look better or worse than the settings earned; differences between cells do not
 * depend on them.
 */
function sharedStart(comp: Compared): string[] {
  const n = comp.ids.length;
  const T = comp.dates.length;
  let k = 0;
  for (; k < T; k++) {
    const x = comp.values[k];
    let same = true;
    for (let j = 1; j < n && same; j++) same = Object.is(comp.values[j * T + k], x);
    if (!same) break;
  }
  if (k < 5) return [];
  if (k === T) return [`Every cell earned exactly the same on every compared day (${isoDay(comp.dates[0]!)} to ${isoDay(comp.dates[T - 1]!)}): on this calendar the settings made no difference to the returns, and the differences between cells here are nil whatever the table's order.`];
  let growth = 1;
  for (let t = 0; t < k; t++) growth *= 1 + comp.values[t];
  return [`Every cell earned exactly the same on the first ${k} compared days (${isoDay(comp.dates[0]!)} to ${isoDay(comp.dates[k - 1]!)}, ${pct(growth - 1)} in all): they held the same book, as the data then left the settings nothing to choose between. Those days shift every cell's CAGR, Sharpe, PSR and DSR alike; compare the cells on what follows them (a later start, the equity chart) before reading the levels.`];
}

/**
 * Cells whose own metrics were computed on another basis than the tournament's (a risk-free rate, another
 * annualisation): their own reports give other figures for the same record. Names each with both figures.
 */
function basisText(j: Comparison): string[] {
  const b = j.basis;
  const cells = j.cells.filter((c) => c.basis_differs.length && c.own_record && c.metrics);
  if (!cells.length) return [];
  const one = (c: CellComparison) => {
    const o = c.own_record!;
    const what = [c.basis_differs.includes('risk_free_rate') ? `risk-free rate ${pct(o.risk_free_rate, 2)}` : '', c.basis_differs.includes('periods_per_year') ? `${o.periods_per_year} periods a year` : ''].filter(Boolean).join(', ');
    const days = o.days !== c.metrics!.days ? ` over its ${o.days} days` : '';
    return `${c.id} (${what}: Sharpe ${fix(o.sharpe)}, CAGR ${pct(o.cagr)}${days} in its own report; ${fix(c.metrics!.sharpe)} and ${pct(c.metrics!.cagr)} here)`;
  };
  return [`Every statistic here is on one basis for every cell: simple daily returns, risk-free rate 0 (not excess returns: PSR and DSR ask whether the true Sharpe ratio is above 0, not above cash), annualised by ${b.periods_per_year} periods a year. ${cells.length === 1 ? 'One cell computed its own metrics' : `${cells.length} cells computed their own metrics`} on another basis, so ${cells.length === 1 ? 'its own report gives' : 'their own reports give'} other figures for the same returns: ${cells.slice(0, 8).map(one).join('; ')}${cells.length > 8 ? '; …' : ''}. Neither figure is wrong: compare cells here, where the basis is the same for all.`];
}

/**
 * The start of the calendar where the cells' decisions picked fewer names than their policy's floor (min_winners):
 * a record resting on the one or two names the data then had. Says from which day every cell's decisions meet the
 * floor, the `start` that compares them from there (a date read from the decisions alone, never from returns).
 */
function floorText(j: Comparison): string[] {
  const f = j.holdings_floor;
  if (!f) return [];
  const thin = f.cells.filter((c) => c.thin_decisions > 0);
  if (!thin.length) return [];
  const names = (c: HoldingsFloor['cells'][number]) => (c.names![0] === c.names![1] ? `${c.names![0]} name${c.names![0] === 1 ? '' : 's'}` : `${c.names![0]}–${c.names![1]} names`);
  const never = thin.filter((c) => c.full_from === null);
  const met = thin.filter((c) => c.full_from !== null);
  const group = new Map<string, string[]>();
  for (const c of met) {
    const k = `${names(c)} against ${c.floor} in ${c.thin_decisions === 1 ? 'the first decision' : `the first ${c.thin_decisions} decisions`} (held to ${c.thin_until})`;
    group.set(k, [...(group.get(k) ?? []), c.id]);
  }
  const ids = (xs: string[]) => (xs.length === f.cells.length && xs.length > 1 ? `every cell` : `${xs.slice(0, 6).join(', ')}${xs.length > 6 ? ` and ${xs.length - 6} more` : ''}`);
  const parts = [...group].map(([k, xs]) => `${ids(xs)}: ${k}`);
  if (never.length) parts.push(`${ids(never.map((c) => c.id))}: never as many (at most ${Math.max(...never.map((c) => c.names![1]))} against ${never[0]!.floor}${never.some((c) => c.floor !== never[0]!.floor) ? ' or more' : ''})`);
  const reached = f.cells.map((c) => c.full_from).filter((d): d is string => d !== null);
  const from = f.full_from ?? (reached.length ? reached.reduce((a, b) => (b > a ? b : a)) : null);
  const advice = f.full_from
    ? `Every cell's decisions meet the floor from ${f.full_from}: \`statistics: { start: ${f.full_from} }\` compares the cells from there (a date read from their decisions, not from their returns: the comparison stays out of sample).`
    : from
      ? `The other cells' decisions meet the floor from ${from} (\`statistics: { start: ${from} }\`, a date read from their decisions, not from their returns); the cells that never do compare a handful of names with the others' full books throughout.`
      : 'No cell ever meets it: the whole comparison is between books of fewer names than the policy asks for.';
  return [`At the start of the calendar the cells' decisions picked fewer names than their policy's floor (min_winners): ${parts.join('; ')}. A record there rests on the few names the data then had, whatever the setting. ${advice}`];
}

/**
 * Cells that spent a large share of the compared days on exactly zero: days holding nothing (a decision that held
 * cash, or the days from a holding period's end to the next decision when test_window < step_size), or holdings
 * that did not move. Their record mixes the setting with time out of the market; what was measured is the share of
 * zero days, and a selection cell's decisions say how many of them held cash and why.
 */
function cashDays(comp: Compared, ctx: TournamentContext): string[] {
  const n = comp.ids.length;
  const T = comp.dates.length;
  const share = comp.ids.map((_, j) => {
    let z = 0;
    for (let t = 0; t < T; t++) if (comp.values[j * T + t] === 0) z++;
    return z / T;
  });
  // The lower median: with two cells, the one that is not idle.
  const typical = [...share].sort((a, b) => a - b)[Math.floor((n - 1) / 2)]!;
  const idle = comp.ids.map((id, j) => ({ id, s: share[j]! })).filter((c) => c.s >= 0.1 && c.s >= typical + 0.1);
  if (!idle.length) return [];
  const first = comp.dates[0]!;
  const why = (id: string) => {
    const windows = ctx.cells?.find((c) => c.id === id)?.result?.record?.windows;
    if (!windows) return '';
    // The decisions in effect on the compared days: from the last one decided before the first day.
    let k0 = 0;
    windows.forEach((w, k) => {
      if (Math.round(Date.parse(w.as_of) / 86_400_000) < first) k0 = k;
    });
    const cash = windows.slice(k0).filter((w) => w.cash_reason);
    if (!cash.length) return ': none of its decisions held cash';
    const reasons = [...new Set(cash.map((w) => w.cash_reason!))];
    return `: ${cash.length} of its ${windows.length - k0} decisions held cash (${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? '; …' : ''}) from ${cash[0]!.as_of}`;
  };
  return [`${idle.length} cell(s) earned exactly 0 on many of the compared days (the share of days with a return of exactly 0): ${idle.slice(0, 8).map((c) => `${c.id} ${pct(c.s, 0)}${why(c.id)}`).join('; ')}${idle.length > 8 ? '; …' : ''} (the typical cell ${pct(typical, 0)}). A zero day is a day out of the market: a decision that held cash (its metrics.json's cash_reasons say why, e.g. its only names no longer tradable), the days from a holding period's end to the next decision when test_window is shorter than step_size, or holdings that did not move. Such a cell's record compares time invested as much as its setting.`];
}

const overridesText = (o: Record<string, unknown>) => Object.entries(o).map(([p, v]) => `${p.split('.').pop()}=${idPart(v)}`).join(', ') || '(the base as written)';

function summary(v: View, ctx: TournamentContext): string {
  const cells = ctx.cells ?? [];
  const cached = cells.filter((c) => c.cached).length;
  const best = v.ranked[0];
  const j = v.json;
  const fresh = cells.length - cached - v.failed.length;
  return `${cells.length} cells of the ${j.base.kind} pipeline ${j.base.file} (${[fresh ? `${fresh} run now` : '', cached ? `${cached} unchanged, from the cache` : '', v.failed.length ? `${v.failed.length} failed` : ''].filter(Boolean).join(', ')}), compared on the ${j.calendar.days} days from ${j.calendar.first} to ${j.calendar.last} that every cell that ran has a walk-forward return${j.calendar.start ? ` (from statistics.start ${j.calendar.start})` : ''}; every cell on one basis: simple daily returns, risk-free rate ${pct(j.basis.risk_free_rate, 0)}, ${j.basis.periods_per_year} periods a year. Champion: ${j.champion}. Best by Sharpe: ${best?.id ?? '—'} (${fix(best?.metrics?.sharpe)}). PBO: ${j.pbo.value === null ? 'not computed' : pct(j.pbo.value)}.`;
}

/** The cells CSCV left out, in words (empty when none). */
function leftOutText(j: Comparison): string {
  const out = j.pbo.left_out ?? [];
  const same = Object.entries(j.pbo.same_as ?? {});
  return `${out.length ? ` Left out of it: ${out.join(', ')} (${out.length === 1 ? 'its returns never vary' : 'their returns never vary'} on the calendar: no Sharpe ratio to rank).` : ''}${same.length ? ` Counted once: ${same.slice(0, 8).map(([a, b]) => `${a} (the same returns as ${b})`).join(', ')}${same.length > 8 ? ', …' : ''}.` : ''}`;
}

/** How many cells Holm's adjustment ran over: those with a Ledoit–Wolf p (a cell whose return never varies has none). */
function holmCount(j: Comparison): string {
  const tested = j.cells.filter((c) => c.id !== j.champion && c.sharpe_test?.p_holm !== undefined && c.sharpe_test?.p_holm !== null).length;
  const others = j.deflation.trials - 1;
  if (tested === others) return others === 1 ? 'the other cell' : `all ${others} other cells`;
  return `the ${tested} of the ${others} other cells that have a p`;
}

/** What the ranked table's figures are, beside what a cell's own report says of the same cell. */
const BASIS_NOTE = (j: Comparison) =>
  `Annualised, on the common calendar (${j.calendar.days} days), every cell on one basis: simple daily returns, risk-free rate 0, ${j.basis.periods_per_year} periods a year. A cell's own report covers its own record (${j.calendar.start ? 'before statistics.start too' : 'possibly longer'}) with its own settings: its figures differ where those do (below, when a setting does).`;

const OUT_OF_SAMPLE = 'Every return compared here is out of sample: each cell is a walk-forward run whose every day comes from holding a decision made on data up to the day before. What is in sample is only the choice among cells, which is what DSR and PBO are about.';

/**
 * SURVIVORSHIP, when cells' past decisions drew from a universe chosen with later knowledge (a live scanner's): out
 * of sample in time, their records are upper bounds (found by review: the sentence above said so of every cell).
 */
function survivorshipText(j: Comparison): string | undefined {
  const not = j.cells.filter((c) => c.point_in_time === false).map((c) => c.id);
  if (!not.length) return undefined;
  const all = not.length === j.cells.filter((c) => c.outcome === 'succeeded').length;
  return `SURVIVORSHIP: ${all ? 'every cell' : `${not.length} cell(s) (${not.slice(0, 8).join(', ')}${not.length > 8 ? ', …' : ''})`} drew past decisions from a universe that is not point in time (chosen with later knowledge: each cell's metrics.json says how, universe_caveats): ${all ? 'their records are' : 'those records are'} out of sample in time but chose among names picked with later knowledge, so read them as upper bounds${all ? '' : ', and their comparison with the others as favouring them'}.`;
}

export function tournamentMarkdown(ctx: TournamentContext, env: StageEnv): string[] {
  const v = view(ctx, env);
  if (!v) return [];
  const j = v.json;
  const survivorship = survivorshipText(j);
  const lines = ['', '## Tournament', '', summary(v, ctx), '', OUT_OF_SAMPLE, '', ...(survivorship ? [`**${survivorship}**`, ''] : [])];
  lines.push(`Bootstrap: stationary, mean block ${fix(j.bootstrap.block_length, 3)} days (${j.bootstrap.block_length_rule}), ${j.bootstrap.resamples} resamples, seed ${j.bootstrap.seed}, ${pct(j.bootstrap.confidence, 0)} percentile intervals. Sharpe test against ${j.champion}: Ledoit–Wolf HAC (Parzen${j.sharpe_test.prewhitening ? ', prewhitened' : ''}). DSR: ${j.deflation.trials} trials, SR0 ${fix(j.deflation.threshold_sharpe * Math.sqrt(j.periods_per_year))} annualised.`);
  const ends = v.ranked.flatMap((c) => c.intervals!.sharpe).filter(Number.isFinite);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const W = 21;
  const at = (x: number) => Math.max(0, Math.min(W - 1, Math.round(((x - lo) / (hi - lo || 1)) * (W - 1))));
  const bar = (c: CellComparison) => {
    if (![...c.intervals!.sharpe, c.metrics!.sharpe].every(Number.isFinite)) return '—';
    const chars = Array.from({ length: W }, () => '·');
    for (let k = at(c.intervals!.sharpe[0]); k <= at(c.intervals!.sharpe[1]); k++) chars[k] = '─';
    chars[at(0)] = chars[at(0)] === '─' ? '┼' : '|';
    chars[at(c.metrics!.sharpe)] = '●';
    return `\`${chars.join('')}\``;
  };
  lines.push('', `### Ranked by Sharpe (interval bars from ${fix(lo)} to ${fix(hi)}; | or ┼ is 0)`, '', BASIS_NOTE(j), '', '| # | cell | overrides | Sharpe | interval | CAGR | max drawdown | Sortino | turnover | costs | PSR | DSR | P(> champion) | LW p | Holm p | run |', '|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const c of v.ranked) {
    const m = c.metrics!;
    const link = v.links.get(c.id);
    lines.push(`| ${c.rank} | ${c.id === j.champion ? `**${c.id}** (champion)` : c.id} | ${overridesText(c.overrides)} | ${fix(m.sharpe)} | ${bar(c)} [${fix(c.intervals!.sharpe[0])}, ${fix(c.intervals!.sharpe[1])}] | ${pct(m.cagr)} | ${pct(m.max_drawdown)} | ${fix(m.sortino)} | ${pct(m.turnover)} | ${pct(m.costs, 2)} | ${fix(c.psr)} | ${fix(c.dsr)} | ${prob(c.p_beats_champion)} | ${pval(c.sharpe_test?.p)} | ${pval(c.sharpe_test?.p_holm)} | ${link ? `[${link.label}](${link.href})` : '—'} |`);
  }
  if (v.failed.length) {
    lines.push('', '### Failed cells', '', '| cell | overrides | error | run |', '|---|---|---|---|');
    for (const c of v.failed) lines.push(`| ${c.id} | ${overridesText(c.overrides)} | ${c.error?.code}: ${(c.error?.message ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${c.run ?? '—'} |`);
  }
  lines.push('', '### PBO', '', j.pbo.value === null ? `Not computed: ${j.pbo.reason}.` : `${pct(j.pbo.value)} of the ${j.pbo.splits} CSCV splits (${j.pbo.blocks} blocks${j.pbo.dropped_days ? `, the first ${j.pbo.dropped_days} days left out` : ''}) picked, in sample, a cell that ranked below the median out of sample (one exactly at the median is not counted).${leftOutText(j)}`);
  if (v.warnings.length) lines.push('', '### When not to trust these numbers', '', ...v.warnings.map((w) => `- ${w}`));
  return lines;
}

/** The interval bar of one table row: a common scale for every row, 0 and the champion's Sharpe marked. */
function barSvg(c: CellComparison, lo: number, hi: number, champion: number): string {
  const W = 150;
  const x = (v: number) => (4 + ((v - lo) / (hi - lo || 1)) * (W - 8)).toFixed(1);
  const [a, b] = c.intervals!.sharpe;
  if (![a, b, c.metrics!.sharpe].every(Number.isFinite)) return '—';
  return `<svg class="bar" width="${W}" height="14" viewBox="0 0 ${W} 14"><line x1="${x(0)}" x2="${x(0)}" y1="1" y2="13" stroke="#bbb"/><line x1="${x(champion)}" x2="${x(champion)}" y1="1" y2="13" stroke="#e67e22" stroke-dasharray="2,2"/><line x1="${x(a)}" x2="${x(b)}" y1="7" y2="7" stroke="#8fb3de" stroke-width="3"/><circle cx="${x(c.metrics!.sharpe)}" cy="7" r="3.2" fill="#1f5fa8"/></svg>`;
}

/**
 * Draws charts, or reads them back: a tournament's charts are a function of its statistics' key (the cells' result
 * keys, the params, the champion), the cells' ids and overrides and the report settings, so an unchanged re-run
 * takes them from the result cache instead of drawing them again.
 */
/** The interval chart draws at most this many cells (plus the champion); the ranked table has them all. */
export const INTERVAL_CHART_CELLS = 60;

function chartCache(ctx: TournamentContext, results: Pick<ChildRuns, 'runsRoot' | 'useCache'>, v: View) {
  const key = ctx.comparison?.key && results.useCache ? sha256(canonicalJson({ statistics: ctx.comparison.key, report: v.t.report, axes: v.t.axes, cells: v.json.cells.map((c) => [c.id, c.overrides, c.outcome]) })) : undefined;
  const known = (key ? readEntry<Record<string, string>>(results.runsRoot, 'charts', key) : undefined) ?? {};
  let drawn = false;
  return {
    draw: async (name: string, spec: () => Record<string, unknown>): Promise<string> => {
      if (typeof known[name] === 'string') return known[name];
      drawn = true;
      return (known[name] = await renderSvg(spec()));
    },
    save: () => {
      if (key && drawn) writeEntry(results.runsRoot, 'charts', key, known);
    },
  };
}

/** The tournament's report sections; charts drawn before for the same statistics come from the result cache (`results`). */
export async function tournamentHtml(ctx: TournamentContext, env: StageEnv, results: Pick<ChildRuns, 'runsRoot' | 'useCache'>): Promise<string[]> {
  const v = view(ctx, env);
  if (!v) return [];
  const j = v.json;
  const charts = chartCache(ctx, results, v);
  const survivorship = survivorshipText(j);
  const out: string[] = [`<h2>Tournament</h2><p>${esc(summary(v, ctx))}</p><p class="muted">${esc(OUT_OF_SAMPLE)}</p>${survivorship ? `<p class="flag">${esc(survivorship)}</p>` : ''}`];
  const ends = v.ranked.flatMap((c) => c.intervals!.sharpe).filter(Number.isFinite);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const champSharpe = j.cells.find((c) => c.id === j.champion)?.metrics?.sharpe ?? 0;
  const rows = v.ranked.map((c) => {
    const m = c.metrics!;
    const link = v.links.get(c.id);
    const champ = c.id === j.champion;
    return `<tr${champ ? ' class="champ"' : ''}><td class="num">${c.rank}</td><td><b>${esc(c.id)}</b>${champ ? ' <span class="tag">champion</span>' : ''}<div class="muted small">${esc(overridesText(c.overrides))}</div></td><td class="num">${fix(m.sharpe)}</td><td>${barSvg(c, lo, hi, champSharpe)}<div class="muted small">[${fix(c.intervals!.sharpe[0])}, ${fix(c.intervals!.sharpe[1])}]</div></td><td class="num">${pct(m.cagr)}</td><td class="num">${pct(m.max_drawdown)}</td><td class="num">${fix(m.sortino)}</td><td class="num">${fix(m.calmar)}</td><td class="num">${pct(m.turnover)}</td><td class="num">${pct(m.costs, 2)}</td><td class="num">${fix(c.psr)}</td><td class="num">${fix(c.dsr)}</td><td class="num">${prob(c.p_beats_champion)}</td><td class="num">${pval(c.sharpe_test?.p)}</td><td class="num">${pval(c.sharpe_test?.p_holm)}</td><td>${link ? `<a href="${esc(link.href)}">${esc(link.label)}</a>` : '—'}</td></tr>`;
  });
  out.push(`<h3>Ranked by Sharpe ratio</h3>
<p class="muted small">${esc(BASIS_NOTE(j))} Bars: the ${pct(j.bootstrap.confidence, 0)} stationary-bootstrap interval (mean block ${fix(j.bootstrap.block_length, 2)} days, ${j.bootstrap.resamples} paired resamples, seed ${j.bootstrap.seed}), the dot the point estimate, grey 0, dashed orange the champion. PSR: P(true Sharpe &gt; 0). DSR: PSR against SR0 = ${fix(j.deflation.threshold_sharpe * Math.sqrt(j.periods_per_year))}, what the best of ${j.deflation.trials} trials reaches by luck. P(&gt; champion): share of paired resamples where the cell's Sharpe beats the champion's. LW p: Ledoit–Wolf test of the Sharpe difference with the champion. Holm p: the same adjusted by Holm's step-down for testing ${holmCount(j)} against the champion (below 0.05 with a Sharpe above the champion's: better than the champion at a family-wise error of 5%; the test is two-sided, so a small p with a lower Sharpe says worse).</p>
<div class="wide"><table class="ranked"><tr><th>#</th><th>cell</th><th>Sharpe</th><th>interval</th><th>CAGR</th><th>max DD</th><th>Sortino</th><th>Calmar</th><th>turnover</th><th>costs</th><th>PSR</th><th>DSR</th><th>P(&gt;&nbsp;champ.)</th><th>LW p</th><th title="Holm-adjusted over the cells tested against the champion">Holm p</th><th>run</th></tr>${rows.join('')}</table></div>`);
  if (v.failed.length)
    out.push(`<h3>Failed cells</h3><table><tr><th>cell</th><th>overrides</th><th>error</th><th>run</th></tr>${v.failed.map((c) => `<tr><td>${esc(c.id)}</td><td>${esc(overridesText(c.overrides))}</td><td><code>${esc(c.error?.code ?? '')}</code> ${esc(c.error?.message ?? '')}</td><td>${c.run ? `<a href="${esc(join(c.run, 'FAILED'))}">FAILED</a>` : '—'}</td></tr>`).join('')}</table>`);

  // A chart of thousands of rows is unreadable (the table above lists every cell): the best ones and the champion.
  const charted = v.ranked.filter((c, i) => i < INTERVAL_CHART_CELLS || c.id === j.champion);
  out.push(await charts.draw('intervals', () => intervalSpec(charted.map((c) => ({ cell: c.id, sharpe: c.metrics!.sharpe, lo: c.intervals!.sharpe[0], hi: c.intervals!.sharpe[1], champion: c.id === j.champion })), j.bootstrap.confidence, v.ranked.length)));

  // The heat map: the two axes asked for, else the first two (one panel per value of the other axes).
  const axes = v.t.axes.map((a) => a.path);
  const [xa, ya] = v.t.report.heatmap ?? axes.slice(0, 2);
  if (xa) {
    const others = axes.filter((a) => a !== xa && a !== ya);
    const heat = j.cells
      .filter((c) => xa in c.overrides && (!ya || ya in c.overrides))
      .map((c) => ({ x: idPart(c.overrides[xa]), y: ya ? idPart(c.overrides[ya]) : '', panel: others.map((o) => `${o.split('.').pop()}=${o in c.overrides ? idPart(c.overrides[o]) : 'base'}`).join(', '), value: c.metrics?.sharpe ?? null }));
    if (heat.length) out.push('<h3>Sharpe over the matrix</h3>', await charts.draw('heatmap', () => axesHeatmapSpec(heat, xa.split('.').pop()!, ya ? ya.split('.').pop()! : '', 'Sharpe')));
  }

  out.push('<h3>Probability of backtest overfitting</h3>');
  if (j.pbo.value === null) out.push(`<p>Not computed: ${esc(j.pbo.reason ?? '')}.</p>`);
  else {
    out.push(`<p>CSCV over ${j.pbo.blocks} blocks of the common calendar${j.pbo.dropped_days ? ` (the first ${j.pbo.dropped_days} days left out so the blocks are equal)` : ''}: in each of the ${j.pbo.splits} splits the cell with the best Sharpe on one half is ranked on the other half. PBO = ${pct(j.pbo.value)} of the splits put it below the median (λ &lt; 0; exactly at the median, λ = 0, is not counted as overfitting). Near 0: choosing the in-sample best carries over; near 0.5 or above: the ranking is noise, and picking the best cell overfits.${esc(leftOutText(j))}</p>`);
    out.push(await charts.draw('pbo', () => logitHistogramSpec(j.pbo.logits, j.pbo.value!)));
  }

  const comp = ctx.comparison!;
  const top = v.ranked.filter((c) => c.id !== j.champion).slice(0, v.t.report.top).map((c) => c.id);
  const series = [...top, j.champion].filter((id) => comp.ids.includes(id)).map((id) => {
    const k = comp.ids.indexOf(id);
    return { name: id, equity: equityCurve(comp.values.subarray(k * comp.dates.length, (k + 1) * comp.dates.length)), champion: id === j.champion };
  });
  if (series.length) out.push('<h3>Equity</h3>', await charts.draw('equity', () => cellsEquitySpec(comp.dates, series)));
  charts.save();
  // A caveat's `code` (a setting to write) as code.
  if (v.warnings.length) out.push(`<h3>When not to trust these numbers</h3><ul>${v.warnings.map((w) => `<li>${esc(w).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`).join('')}</ul>`);
  return out;
}
