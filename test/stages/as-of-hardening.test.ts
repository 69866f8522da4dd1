/**
 * Every stage that reads returns stops at ctx.as_of itself, even when handed rows after it (ingestion already
 * cuts there; this is the second line). Poisoned rows after the as-of date must change nothing.
 */
import type { SelectionContext } from '../../src/core/context.js';
import { FeatureEngineeringStage } from '../../stages/features/feature-engineering.stage.js';
import type { Ranker } from '../../stages/inference/ranker.js';
import { RegimeRanker } from '../../stages/inference/rankers/regime.ranker.js';
import { context, featureTable, matrix, recordingEnv } from './fixtures/funnel/helpers.js';

const g = (k: number) => Array.from({ length: 90 }, (_, t) => 0.02 * Math.sin(t * 0.9 + k) + 0.001 * k);
const clean = matrix({ A: g(1), B: g(2), C: g(3) });
const asOf = clean.dates[89]!;
// 20 more days: a crash to -90% every day (would make the regime CRISIS and every feature different).
const poisoned = matrix({ A: [...g(1), ...Array(20).fill(-0.9)], B: [...g(2), ...Array(20).fill(-0.9)], C: [...g(3), ...Array(20).fill(-0.9)] });

test('feature_engineering ignores rows after the as-of date', async () => {
  const p = { lookback: 60, adx_period: 14, entropy_bins: 10 };
  const run = async (parts: Partial<SelectionContext>) => {
    const ctx = context(parts);
    await new FeatureEngineeringStage().execute(ctx, p, recordingEnv().env);
    return ctx.features!;
  };
  const a = await run({ returns: clean, as_of: asOf });
  const b = await run({ returns: poisoned, as_of: asOf });
  expect(b.names).toEqual(a.names);
  for (const n of a.names) expect(Array.from(b.values[n]!)).toEqual(Array.from(a.values[n]!));
  // Without the as-of bound the poison is read (so the comparison above can fail).
  const c = await run({ returns: poisoned });
  expect(Array.from(c.values.volatility!)).not.toEqual(Array.from(a.values.volatility!));
});

test('the regime ranker reads the market only up to the as-of date', () => {
  const features = featureTable({ A: { momentum: 0.1, volatility: 0.5 }, B: { momentum: 0.2, volatility: 0.4 }, C: { momentum: 0.3, volatility: 0.3 } });
  const score = (parts: Partial<SelectionContext>) => (new RegimeRanker() as Ranker).score(features, {}, context(parts), recordingEnv().env);
  const a = score({ returns: clean, as_of: asOf });
  const b = score({ returns: poisoned, as_of: asOf });
  expect(a.regime).toBe('NORMAL');
  expect(b.regime).toBe(a.regime);
  expect(Array.from(b.conviction)).toEqual(Array.from(a.conviction));
  expect(score({ returns: poisoned }).regime).toBe('CRISIS');
});
