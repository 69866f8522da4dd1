/**
 * What tournament_compare says about the basis of its numbers (stages/tournament/basis.ts), on constructed records:
 * which cells' own metrics were computed on another basis than the tournament's.
 */
import type { RunRecord } from '../../src/core/context.js';
import { ownBasis } from '../../stages/tournament/basis.js';

const record = (own?: RunRecord['own']): RunRecord => ({ turnover: null, costs: null, volatility_band_drift: null, rebalances: 0, ...(own ? { own } : {}) });
const own = (risk_free_rate: number, periods_per_year: number) => ({ days: 997, first: '2022-06-14', last: '2025-03-06', sharpe: 0.7, cagr: 0.3, risk_free_rate, periods_per_year });

describe('ownBasis: what of a cell\'s own basis is not the tournament\'s (raw returns, rf 0, P)', () => {
  test.each([
    [own(0, 365), 365, []],
    [own(0.05, 365), 365, ['risk_free_rate']],
    [own(0, 252), 365, ['periods_per_year']],
    [own(0.02, 252), 365, ['risk_free_rate', 'periods_per_year']],
  ] as const)('own %j against %d periods a year: %j', (o, P, want) => {
    expect(ownBasis(record(o), P)).toEqual({ own_record: o, basis_differs: want });
  });
  test('a record without its own figures (cached before they were kept): null, nothing flagged', () => {
    expect(ownBasis(record(), 365)).toEqual({ own_record: null, basis_differs: [] });
    expect(ownBasis(undefined, 365)).toEqual({ own_record: null, basis_differs: [] });
  });
});

