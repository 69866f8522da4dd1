/**
 * Synthesis: atom ids Asset_Logic_Direction, the bankruptcy guard on SHORT streams, and no row after the as-of date.
 * (Bad prints are out of the returns before synthesis: test/lakehouse/toxic.test.ts and test/stages/toxic-data.test.ts.)
 */
import { atomReturn, logicOf, SynthesisStage, type SynthesisParams } from '../../stages/synthesis/synthesis.stage.js';
import { context, matrix, recordingEnv } from './fixtures/funnel/helpers.js';

const params = (over: Partial<SynthesisParams> = {}): SynthesisParams => ({ direction: 'LONG', ...over });
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
  for (const x of [0.999, 1, 1.0001, 4.99, 1e6]) expect(atomReturn(x, 'SHORT')).toBeGreaterThanOrEqual(-1);
  expect(atomReturn(1.0001, 'SHORT')).toBe(-1);
  expect(atomReturn(0.9999, 'SHORT')).toBeCloseTo(-0.9999, 15);
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
});

test('a winner without returns fails the stage with its name', async () => {
  const ctx = context({ returns: matrix({ A: [0.01] }), winners: ['A', 'GHOST'] });
  await expect(new SynthesisStage().execute(ctx, params(), recordingEnv().env)).rejects.toThrow(/GHOST/);
});
