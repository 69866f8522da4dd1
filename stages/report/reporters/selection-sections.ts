/**
 * What the markdown and HTML reporters both show of a selection run, computed once: the backtest's record as the
 * backtest stage hands it over (ctx.backtest), its per-window table, monthly returns, the figures against the
 * benchmark, the volatility-band DRIFT flag, the symbols discovery left out and what became of the vetoed ones.
 */
import { ownGet } from '../../../src/util/keyed.js';
import type { BacktestRecord, BacktestWindow, SelectionContext } from '../../../src/core/context.js';
import { monthlyReturns, type MonthReturn } from '../../../src/math/metrics.js';
import { cashFlag, floorFlag, survivorshipFlag } from '../../../src/runs/record-flags.js';

/** One holding window as the backtest stage records it (metrics.json's windows, the audit's `window` events). */
export type WindowView = BacktestWindow;

/** The backtest's record as the backtest stage hands it over (ctx.backtest). */
export type BacktestView = BacktestRecord;

/**
 * The selection fields of any context a reporter is given: a meta or a tournament context has none of them (they
 * read as undefined), so the selection sections draw nothing for it.
 */
export type SelectionView = Partial<Omit<SelectionContext, 'kind'>>;

export const pct = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : '—');
export const num = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
const day = (iso: string) => Math.round(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

/** The DRIFT flag in words, or undefined when the realised volatility stays within its engine's band. */
export function driftText(bt: BacktestView): string | undefined {
  const b = bt.metrics.volatility_band;
  if (!b?.flagged) return undefined;
  return `DRIFT: realised volatility ${pct(b.realised, 1)} is ${(b.drift * 100).toFixed(1)} points above the ${b.engine} band of ${pct(b.band, 1)} (flagged beyond ${((b.limit ?? 0.25) * 100).toFixed(0)} points): the portfolio is riskier than its engine is meant to give.`;
}

/**
 * What the weights shown are: the decision on the last data, which has earned nothing yet. A reader must not take
 * them for the portfolio behind the out-of-sample record, which the walk-forward windows' earlier decisions made.
 */
export function latestDecisionText(asOf: string | undefined, recordEnds: string | undefined): string {
  return `Decided on the data up to ${asOf ? `${asOf} (its close the last data seen)` : 'the last date'}, to hold from the next day. This decision has no out-of-sample record yet${recordEnds ? `: the performance above ends at ${recordEnds} and comes from the walk-forward windows' earlier decisions` : ''}.`;
}

/** The latest decision when it holds cash (`cash_reason`): said, since its weights are nothing to show. */
export function heldCashText(asOf: string | undefined, reason: string): string {
  return `The decision as of ${asOf ?? 'the last date'} holds cash: ${reason}. It follows the rule every walk-forward decision follows (a window on such a date holds cash too); weights.json is empty.`;
}

/** The survivorship flag in words, or undefined when every past decision drew from the universe as it was then. */
export function universeText(bt: BacktestView): string | undefined {
  const flag = survivorshipFlag(bt.metrics);
  return flag && `${flag}. The record below is out of sample in time, but its past decisions chose among names picked with later knowledge: read it as an upper bound.`;
}

/** The cash flag in words: when at least half the decisions held cash, what the record mostly is. */
export function cashText(bt: BacktestView): string | undefined {
  const flag = cashFlag(bt.metrics);
  return flag && `${flag.text}: the record is ${flag.flat ? 'flat: it shows no strategy at all' : 'mostly cash'}. See the walk-forward windows and the policy's vetoes.`;
}

/** The FLOOR flag in words: decisions that picked fewer names than the policy's min_winners, and the record without them. */
export function floorText(bt: BacktestView): string | undefined {
  const flag = floorFlag(bt.metrics);
  return flag && `${flag}. Those decisions are concentrated bets the pipeline did not ask for (their holdings are in the walk-forward windows); read the whole record's figures with them in mind.`;
}

/** The per-window table: each rebalance's date, holding period, engine, regime, holdings, turnover, costs, carry, return, notes. */
export function windowRows(bt: BacktestView): { head: string[]; rows: string[][]; numeric: Set<number> } {
  // Held from the day after the decision to `held to` (one line per window: the decision, then when it ended).
  const head = ['#', 'decided', 'held to', 'engine', 'regime', 'holdings', 'turnover', 'costs', 'carry', 'return', 'note'];
  const floor = bt.metrics.min_winners_floor?.floor;
  const rows = bt.windows.map((w) => [
    String(w.window + 1),
    w.as_of,
    w.end,
    w.engine ?? '—',
    w.regime ?? '—',
    String(w.holdings),
    pct(w.turnover, 1),
    pct(w.cost, 2),
    pct(w.borrow + w.funding, 2),
    pct(w.return, 2),
    [w.cash_reason ? `cash: ${w.cash_reason}` : '', floor !== undefined && !w.cash_reason && w.holdings < floor ? `fewer names than min_winners ${floor}` : '', w.liquidated ? 'liquidated' : '', w.adjustments?.length ? `${w.adjustments.length} adjustment(s)` : '', w.toxic_bars?.length ? `${w.toxic_bars.length} toxic bar(s)` : '', w.unfilled ? `${w.unfilled} order(s) not filled` : ''].filter(Boolean).join('; '),
  ]);
  return { head, rows, numeric: new Set([5, 6, 7, 8, 9]) };
}

/** Turnover, costs and the exposure each rebalance decided, for the trading chart. */
export function tradingRows(bt: BacktestView): { date: number; turnover: number; cost: number; gross: number; net: number }[] {
  return bt.windows.map((w) => ({ date: day(w.as_of), turnover: w.turnover, cost: w.cost, gross: w.weights.reduce((a, x) => a + Math.abs(x.weight), 0), net: w.weights.reduce((a, x) => a + x.weight, 0) }));
}

/** The regime each holding period was decided in (absent when no ranker read one). */
export function regimePeriods(bt: BacktestView): { start: number; end: number; regime: string }[] | undefined {
  const out = bt.windows.filter((w) => w.regime).map((w) => ({ start: day(w.start), end: day(w.end), regime: w.regime! }));
  return out.length ? out : undefined;
}

/** The ranker that read the regimes, when it is not the champion (a challenger's reading, shown for context). */
export function regimeSource(bt: BacktestView): string | undefined {
  return bt.windows.find((w) => w.regime_by)?.regime_by;
}

/** Monthly returns as a year × month grid, with each year's compounded total. */
export function monthlyGrid(bt: BacktestView): { years: { year: number; months: (MonthReturn | undefined)[]; total: number }[] } {
  const months = monthlyReturns(bt.dates, bt.returns);
  const years = [...new Set(months.map((m) => m.year))].sort((a, b) => a - b);
  return {
    years: years.map((year) => {
      const ms = Array.from({ length: 12 }, (_, i) => months.find((m) => m.year === year && m.month === i + 1));
      return { year, months: ms, total: ms.reduce((g, m) => g * (1 + (m?.return ?? 0)), 1) - 1 };
    }),
  };
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The portfolio against its benchmark: beta, alpha, correlation, tracking error, information ratio. */
export function relativeRows(bt: BacktestView): [string, string][] | undefined {
  const rel = bt.metrics.benchmark?.relative;
  if (!rel) return undefined;
  return [
    ['Beta', num(rel.beta, 2)],
    ['Alpha (annual, Jensen)', pct(rel.alpha)],
    ['Correlation', num(rel.correlation, 2)],
    ['Tracking error (annual)', pct(rel.tracking_error)],
    ['Information ratio', num(rel.information_ratio, 2)],
  ];
}

/** Each discovery step that dropped symbols, with the symbols and why (candidates.json has every one). */
export function droppedBySteps(ctx: SelectionView): { step: string; dropped: { symbol: string; reason: string }[] }[] {
  return (ctx.discovery_funnel ?? []).flatMap((f) => (f.dropped?.length ? [{ step: f.step, dropped: f.dropped }] : []));
}

export const STEP_NAMES: Record<string, string> = {
  venue: 'on another venue',
  asset_types: 'another asset type',
  fresh_at_as_of: 'not fresh at the as-of date',
  liquidity: 'below the liquidity floor',
  exclusions: 'excluded',
  identity_dedup: 'a twin listing of a more liquid one',
  limit: 'beyond the limit',
  in_lakehouse: 'not in the lakehouse',
};

/**
 * What became of each vetoed symbol: vetoed and left out, or selected anyway because a relaxation stage overrode
 * its veto (and then held, or not). The policy stage's record (ctx.htr) says which.
 */
export function vetoOutcome(ctx: SelectionView, symbol: string): string {
  const won = ctx.htr?.winners.find((w) => w.symbol === symbol);
  if (!won) return 'left out';
  const held = ctx.weights?.find((w) => w.symbol === symbol && w.weight !== 0);
  const how = won.overridden.length ? `overridden at ${overridingStage(won.reason)}` : `selected (${won.reason})`;
  return `${how}: ${held ? `held, ${pct(held.weight)}` : 'selected, not held at the as-of date'}`;
}

/** The relaxation stage that lets a vetoed symbol in, by how it got in (policy.stage.ts: stages 3 and 4). */
export function overridingStage(reason: string): string {
  return reason === 'representative' ? 'HTR stage 3 (representative forcing)' : reason === 'fallback' ? 'HTR stage 4 (balanced fallback)' : `the ${reason} selection`;
}

/** Vetoed symbols in the order a reader wants them: those selected anyway (overridden) first, then by name. */
export function vetoOrder(ctx: SelectionView): string[] {
  const won = new Set((ctx.htr?.winners ?? []).map((w) => w.symbol));
  return Object.keys(ctx.vetoes ?? {}).sort((a, b) => Number(won.has(b)) - Number(won.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Symbols whose vetoes at the strict thresholds the relaxed ones lifted (they passed once relaxed). */
export function passedOnceRelaxed(ctx: SelectionView): string[] {
  const strict = ctx.htr?.strict_vetoes;
  if (!strict) return [];
  return Object.keys(strict).filter((s) => !ownGet(ctx.vetoes, s)?.length).sort();
}
