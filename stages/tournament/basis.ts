/**
 * What tournament_compare says about the basis of its numbers besides computing them: where a cell's own metrics
 * were computed on another basis (a risk-free rate, another annualisation) than the tournament's, and where the
 * start of the compared calendar rests on decisions that picked fewer names than the policy's floor. Pure
 * functions of the cells' records and the calendar: no returns are read.
 */
import type { CellComparison, HoldingsFloor, RunRecord } from '../../src/core/context.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';

/** A cell's own figures, and what of their basis is not the tournament's (raw returns, rf 0, `periodsPerYear`). */
export function ownBasis(record: RunRecord | undefined, periodsPerYear: number): Pick<CellComparison, 'own_record' | 'basis_differs'> {
  const own = record?.own ?? null;
  const differs: CellComparison['basis_differs'] = [];
  if (own && own.risk_free_rate !== 0) differs.push('risk_free_rate');
  if (own && own.periods_per_year !== periodsPerYear) differs.push('periods_per_year');
  return { own_record: own, basis_differs: differs };
}

/**
 * Per cell with a floor (min_winners > 0) and decisions: from the decision in effect on the calendar's first day
 * (the last one decided before it), the decisions that picked fewer names than the floor before the first that
 * picked at least it, and the first compared day after that one. A decision that held cash counts its holdings (0).
 * Null when no cell has a floor and decisions (a meta base, a policy without one).
 */
export function holdingsFloor(cells: { id: string; floor: number | undefined; record: RunRecord | undefined }[], dates: Int32Array): HoldingsFloor | null {
  const first = dates[0];
  if (first === undefined) return null;
  const out: HoldingsFloor['cells'] = [];
  for (const c of cells) {
    const windows = c.record?.windows;
    if (!c.floor || c.floor <= 0 || !windows?.length) continue;
    const decided = windows.map((w) => dayFromIso(w.as_of));
    let k0 = 0;
    for (let k = 0; k < windows.length; k++) if (decided[k]! < first) k0 = k;
    const names = (k: number) => windows[k]!.winners ?? windows[k]!.holdings;
    let k = k0;
    while (k < windows.length && names(k) < c.floor) k++;
    const thin = windows.slice(k0, k).map((_, i) => names(k0 + i));
    let full: string | null = null;
    if (k === k0) full = isoFromDay(first);
    else if (k < windows.length) {
      const after = dates.find((d) => d > decided[k]!);
      full = after === undefined ? null : isoFromDay(after);
    }
    // The last compared day a thin decision was in effect: up to the day the next one was decided.
    const end = k < windows.length ? decided[k]! : Infinity;
    let until: number | undefined;
    for (const d of dates) if (d <= end) until = d;
    out.push({
      id: c.id,
      floor: c.floor,
      thin_decisions: thin.length,
      names: thin.length ? [Math.min(...thin), Math.max(...thin)] : null,
      thin_until: thin.length && until !== undefined ? isoFromDay(until) : null,
      full_from: full,
    });
  }
  if (!out.length) return null;
  const fulls = out.map((c) => c.full_from);
  return { full_from: fulls.includes(null) ? null : fulls.reduce((a, b) => (b! > a! ? b : a))!, cells: out };
}
