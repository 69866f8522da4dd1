/**
 * What tournament_compare says about the basis of its numbers besides computing them: where a cell's own metrics
 * were computed on another basis (a risk-free rate, another annualisation) than the tournament's. A pure function
 * of the cells' records: no returns are read.
 */
import type { CellComparison, RunRecord } from '../../src/core/context.js';

/** A cell's own figures, and what of their basis is not the tournament's (raw returns, rf 0, `periodsPerYear`). */
export function ownBasis(record: RunRecord | undefined, periodsPerYear: number): Pick<CellComparison, 'own_record' | 'basis_differs'> {
  const own = record?.own ?? null;
  const differs: CellComparison['basis_differs'] = [];
  if (own && own.risk_free_rate !== 0) differs.push('risk_free_rate');
  if (own && own.periods_per_year !== periodsPerYear) differs.push('periods_per_year');
  return { own_record: own, basis_differs: differs };
}

