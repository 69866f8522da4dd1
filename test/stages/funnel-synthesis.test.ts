/**
 * Synthesis: atom ids Asset_Logic_Direction, the bankruptcy guard on SHORT streams, toxic moves dropped with an
 * audit record each, and no row after the as-of date.
 */
import { isoFromDay } from '../../src/lakehouse/dates.js';
import { atomReturn, logicOf, SynthesisStage, toxicDays } from '../../stages/synthesis/synthesis.stage.js';
import { context, matrix, recordingEnv } from './fixtures/funnel/helpers.js';

const params = (over: Record<string, unknown> = {}) => ({ direction: 'LONG', toxic_threshold: 5, ...over });
const col = (m: { values: Float64Array; dates: Int32Array }, k: number) => Array.from(m.values.subarray(k * m.dates.length, (k + 1) * m.dates.length));

test('bankruptcy guard: SHORT = max(-r, -1); LONG = r', async () => {
  const r = [0.1, -0.5, 1.5, 3, -0.2];
  const ctx = context({ returns: matrix({ BTC: r }), winners: ['BTC'] });
  const rec = recordingEnv();
  await new SynthesisStage().execute(ctx, params({ direction: 'BOTH' }), rec.env);
  expect(ctx.atoms).toEqual([
    { id: 'BTC_core_LONG', symbol: 'BTC', logic: 'core', direction: 'LONG' },
    { id: 'BTC_core_SHORT', symbol: 'BTC', logic: 'core', direction: 'SHORT' },
  ]);
  expect(ctx.atom_returns!.symbols).toEqual(['BTC_core_LONG', 'BTC_core_SHORT']);
  expect(col(ctx.atom_returns!, 0)).toEqual(r);
  expect(col(ctx.atom_returns!, 1)).toEqual([-0.1, 0.5, -1, -1, 0.2]);
  expect(rec.events.find((e) => e.event === 'bankruptcy_guard')!.data.clipped).toEqual({ BTC_core_SHORT: 2 });
  expect(rec.artifacts['atoms.json'].atoms[1]).toMatchObject({ id: 'BTC_core_SHORT', bankruptcy_clips: 2 });
  // Never below -100%, whatever the input.
  for (const x of [0.999, 1, 1.0001, 4.99, 1e6]) expect(atomReturn(x, 'SHORT', Infinity)).toBeGreaterThanOrEqual(-1);
  expect(atomReturn(1.0001, 'SHORT', 5)).toBe(-1);
  expect(atomReturn(0.9999, 'SHORT', 5)).toBeCloseTo(-0.9999, 15);
});

test('toxic moves above +500% are dropped (NaN) in every atom of the symbol, each drop audited; 500% itself is kept', async () => {
  const r = [0.01, 5.000001, 5, -0.03, 1570];
  const ctx = context({ returns: matrix({ ADA: r, ETH: [0.01, 0.02, 0.03, 0.04, 0.05] }), winners: ['ADA', 'ETH'] });
  const rec = recordingEnv();
  await new SynthesisStage().execute(ctx, params({ direction: 'BOTH' }), rec.env);
  expect(col(ctx.atom_returns!, 0)).toEqual([0.01, NaN, 5, -0.03, NaN]);
  expect(col(ctx.atom_returns!, 1)).toEqual([-0.01, NaN, -1, 0.03, NaN]);
  expect(col(ctx.atom_returns!, 2)).toEqual([0.01, 0.02, 0.03, 0.04, 0.05]);
  const drops = rec.events.filter((e) => e.event === 'toxic_return_dropped').map((e) => e.data);
  expect(drops).toEqual([
    { symbol: 'ADA', date: isoFromDay(ctx.returns!.dates[1]!), value: 5.000001, threshold: 5, reversal: false },
    { symbol: 'ADA', date: isoFromDay(ctx.returns!.dates[4]!), value: 1570, threshold: 5, reversal: false },
  ]);
  expect(rec.artifacts['atoms.json'].toxic_drops).toHaveLength(2);
  // A lower threshold drops more.
  const strict = context({ returns: matrix({ ADA: r }), winners: ['ADA'] });
  await new SynthesisStage().execute(strict, params({ toxic_threshold: 1 }), recordingEnv().env);
  expect(col(strict.atom_returns!, 0)).toEqual([0.01, NaN, NaN, -0.03, NaN]);
});

test('a toxic spike that reverses is dropped with its reversal, so a SHORT atom books no fake +99.9%', async () => {
  // ADA's bad print: price x1571 one day, back the next (gross 1/1571), with a missing day in between.
  const back = 1 / 1571 - 1;
  const r = [0.01, 1570, NaN, back, 0.02];
  // A genuine crash after a genuine rally is not a reversal of a bad print: -50% is kept.
  const real = [0.01, 5.5, -0.5, 0.02, 0.01];
  const ctx = context({ returns: matrix({ ADA: r, PUMP: real }), winners: ['ADA', 'PUMP'] });
  const rec = recordingEnv();
  await new SynthesisStage().execute(ctx, params({ direction: 'BOTH' }), rec.env);
  expect(col(ctx.atom_returns!, 0)).toEqual([0.01, NaN, NaN, NaN, 0.02]); // ADA LONG
  expect(col(ctx.atom_returns!, 1)).toEqual([-0.01, NaN, NaN, NaN, -0.02]); // ADA SHORT: no +0.9994
  expect(col(ctx.atom_returns!, 2)).toEqual([0.01, NaN, -0.5, 0.02, 0.01]);
  expect(col(ctx.atom_returns!, 3)).toEqual([-0.01, NaN, 0.5, -0.02, -0.01]);
  const drops = rec.events.filter((e) => e.event === 'toxic_return_dropped').map((e) => [e.data.symbol, e.data.reversal]);
  expect(drops).toEqual([['ADA', false], ['ADA', true], ['PUMP', false]]);
  // The boundary (threshold 3): a next-day gross return of exactly 1/(1+3) = 0.25 is kept, just below it is dropped.
  expect(Array.from(toxicDays(Float64Array.from([4, -0.75]), 3))).toEqual([1, 0]);
  expect(Array.from(toxicDays(Float64Array.from([4, -0.75 - 1e-12]), 3))).toEqual([1, 1]);
});

test('logic: the param, else discovery metadata (logic, strategy, scanner), else core', async () => {
  expect(logicOf({ symbol: 'X', metadata: { strategy: 'rating_ma' } }, undefined)).toBe('rating_ma');
  expect(logicOf({ symbol: 'X', metadata: { scanner: 'synthetic', strategy: 'trend' } }, undefined)).toBe('trend');
  expect(logicOf({ symbol: 'X', metadata: { scanner: 'lakehouse' } }, undefined)).toBe('lakehouse');
  expect(logicOf({ symbol: 'X', metadata: { scanner: 'lakehouse' } }, 'mom')).toBe('mom');
  expect(logicOf(undefined, undefined)).toBe('core');
  const ctx = context({ returns: matrix({ SOL: [0.1], BTC: [0.2] }), winners: ['BTC', 'SOL'], raw_pool: [{ symbol: 'SOL', metadata: { logic: 'rating_all' } }] });
  await new SynthesisStage().execute(ctx, params({ direction: 'SHORT' }), recordingEnv().env);
  expect(ctx.atoms!.map((a) => a.id)).toEqual(['BTC_core_SHORT', 'SOL_rating_all_SHORT']);
});

test('rows after the as-of date are not in the atom streams', async () => {
  const clean = matrix({ A: [0.01, -0.02, 0.03], B: [0.02, 0.01, -0.01] });
  const poisoned = matrix({ A: [0.01, -0.02, 0.03, 9, NaN], B: [0.02, 0.01, -0.01, -0.99, 1e9] });
  const a = context({ returns: clean, as_of: clean.dates[2], winners: ['A', 'B'] });
  const b = context({ returns: poisoned, as_of: clean.dates[2], winners: ['A', 'B'] });
  const ra = recordingEnv();
  const rb = recordingEnv();
  await new SynthesisStage().execute(a, params({ direction: 'BOTH' }), ra.env);
  await new SynthesisStage().execute(b, params({ direction: 'BOTH' }), rb.env);
  expect(Array.from(b.atom_returns!.dates)).toEqual(Array.from(clean.dates));
  expect(Array.from(b.atom_returns!.values)).toEqual(Array.from(a.atom_returns!.values));
  expect(rb.artifacts['atoms.json']).toEqual(ra.artifacts['atoms.json']);
  expect(rb.events.some((e) => e.event === 'toxic_return_dropped')).toBe(false);
});

test('a winner without returns fails the stage with its name', async () => {
  const ctx = context({ returns: matrix({ A: [0.01] }), winners: ['A', 'GHOST'] });
  await expect(new SynthesisStage().execute(ctx, params(), recordingEnv().env)).rejects.toThrow(/GHOST/);
});
