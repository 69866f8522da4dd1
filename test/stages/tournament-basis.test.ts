/**
 * What tournament_compare says about the basis of its numbers (stages/tournament/basis.ts), on constructed records
 * whose answers are worked out by hand in the comments: which cells' own metrics were computed on another basis
 * than the tournament's, and where the start of the calendar rests on decisions that picked fewer names than the
 * policy's floor, with the first compared day from which every cell's decisions meet it.
 */
import type { RunRecord, RunWindow } from '../../src/core/context.js';
import { holdingsFloor, ownBasis } from '../../stages/tournament/basis.js';

const day = (iso: string) => Math.round(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);
/** Every day from `a` to `b`, inclusive, as epoch days. */
const days = (a: string, b: string) => Int32Array.from({ length: day(b) - day(a) + 1 }, (_, i) => day(a) + i);
const record = (windows: RunWindow[], own?: RunRecord['own']): RunRecord => ({ turnover: null, costs: null, volatility_band_drift: null, rebalances: windows.length, windows, ...(own ? { own } : {}) });
const w = (as_of: string, winners: number | null, holdings = winners ?? 0, cash_reason?: string): RunWindow => ({ as_of, winners, holdings, ...(cash_reason ? { cash_reason } : {}) });
const own = (risk_free_rate: number, periods_per_year: number) => ({ days: 997, first: '2022-06-14', last: '2025-03-06', sharpe: 0.7, cagr: 0.3, risk_free_rate, periods_per_year });

describe('ownBasis: what of a cell\'s own basis is not the tournament\'s (raw returns, rf 0, P)', () => {
  test.each([
    [own(0, 365), 365, []],
    [own(0.05, 365), 365, ['risk_free_rate']],
    [own(0, 252), 365, ['periods_per_year']],
    [own(0.02, 252), 365, ['risk_free_rate', 'periods_per_year']],
  ] as const)('own %j against %d periods a year: %j', (o, P, want) => {
    expect(ownBasis(record([], o), P)).toEqual({ own_record: o, basis_differs: want });
  });
  test('a record without its own figures (cached before they were kept): null, nothing flagged', () => {
    expect(ownBasis(record([]), 365)).toEqual({ own_record: null, basis_differs: [] });
    expect(ownBasis(undefined, 365)).toEqual({ own_record: null, basis_differs: [] });
  });
});

describe('holdingsFloor: the start of the calendar against the policy\'s floor', () => {
  // tournament_crypto's start, as its cells' audit shows it: decisions every 30 days from 2022-06-13 picking 1, then
  // 2, then 8 or more names against min_winners 8; returns from 2022-06-14.
  const calendar = days('2022-06-14', '2022-12-31');
  const thirty = record([w('2022-06-13', 1), w('2022-07-13', 2), w('2022-08-12', 9), w('2022-09-11', 8), w('2022-10-11', 3)]);

  test('two thin decisions, held to 2022-08-12; every cell meets the floor from the next compared day, 2022-08-13', () => {
    // A later dip below the floor (2022-10-11: 3 names) is not the start of the record: not counted.
    const f = holdingsFloor([{ id: 'a', floor: 8, record: thirty }], calendar);
    expect(f).toEqual({ full_from: '2022-08-13', cells: [{ id: 'a', floor: 8, thin_decisions: 2, names: [1, 2], thin_until: '2022-08-12', full_from: '2022-08-13' }] });
  });

  test('cells that reach the floor on different days: every cell from the latest; a cell never thin counts from the first day', () => {
    // b decides every 60 days: 1 name (2022-06-13, held to 2022-08-12), then 8 (2022-08-12) — from 2022-08-13.
    // c: 3 names at 2022-06-13, 3 at 2022-07-13, then 10 at 2022-09-11 (held to 2022-09-11) — from 2022-09-12.
    // d: 12 names from its first decision — from the calendar's first day.
    const f = holdingsFloor(
      [
        { id: 'b', floor: 8, record: record([w('2022-06-13', 1), w('2022-08-12', 8)]) },
        { id: 'c', floor: 4, record: record([w('2022-06-13', 3), w('2022-07-13', 3), w('2022-09-11', 10)]) },
        { id: 'd', floor: 8, record: record([w('2022-06-13', 12)]) },
      ],
      calendar,
    );
    expect(f!.full_from).toBe('2022-09-12');
    expect(f!.cells.map((c) => [c.id, c.thin_decisions, c.names, c.thin_until, c.full_from])).toEqual([
      ['b', 1, [1, 1], '2022-08-12', '2022-08-13'],
      ['c', 2, [3, 3], '2022-09-11', '2022-09-12'],
      ['d', 0, null, null, '2022-06-14'],
    ]);
  });

  test('a cell that never meets its floor (one name, then cash): no day from which every cell does', () => {
    // Cash decisions (winners null) count their holdings: 0.
    const never = record([w('2022-06-13', 1), w('2022-07-13', 1), w('2022-08-12', null, 0, 'nothing tradable')]);
    const f = holdingsFloor([{ id: 'a', floor: 8, record: thirty }, { id: 'matic', floor: 8, record: never }], calendar);
    expect(f!.full_from).toBeNull();
    expect(f!.cells[1]).toEqual({ id: 'matic', floor: 8, thin_decisions: 3, names: [0, 1], thin_until: '2022-12-31', full_from: null });
  });

  test('a calendar that starts later (statistics.start): only the decisions in effect from its first day count', () => {
    // From 2022-07-20 the decision in effect is 2022-07-13's (2 names): one thin decision, held to 2022-08-12.
    const f = holdingsFloor([{ id: 'a', floor: 8, record: thirty }], days('2022-07-20', '2022-12-31'));
    expect(f!.cells[0]).toMatchObject({ thin_decisions: 1, names: [2, 2], thin_until: '2022-08-12', full_from: '2022-08-13' });
    // From 2022-08-13 on, nothing is thin.
    expect(holdingsFloor([{ id: 'a', floor: 8, record: thirty }], days('2022-08-13', '2022-12-31'))!.cells[0]).toMatchObject({ thin_decisions: 0, full_from: '2022-08-13' });
  });

  test('the floor counts the names the policy let through (winners), not the names an engine kept', () => {
    // A max_sharpe decision holding 3 of 9 winners meets a floor of 8.
    const f = holdingsFloor([{ id: 'ms', floor: 8, record: record([w('2022-06-13', 9, 3)]) }], calendar);
    expect(f!.cells[0]!.thin_decisions).toBe(0);
  });

  test('no floor (a meta cell, min_winners 0, no policy): null', () => {
    expect(holdingsFloor([{ id: 'a', floor: undefined, record: thirty }, { id: 'b', floor: 0, record: thirty }, { id: 'm', floor: 8, record: undefined }], calendar)).toBeNull();
  });
});
