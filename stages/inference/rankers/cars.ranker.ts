/** CARS: weighted additive rank-sum across factors. */
import type { FeatureTable, SelectionContext } from '../../../src/core/context.js';
import { bool, numberMap, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta, StageEnv } from '../../../src/core/plugin.js';
import { CARS_DEFAULT_WEIGHTS, directionsSchema, resolveFactors, type Ranker, type RankerResult, type ResolvedFactor } from '../ranker.js';
import { rankAverage } from '../stats.js';
import { factorUses } from './mps.ranker.js';

/**
 * The rank-sum over resolved factors. Per factor the finite values are ranked 1..m in the factor's direction
 * (m = best; ties averaged like scipy's rankdata 'average'); a symbol without a value takes the middle rank
 * (m + 1) / 2. Raw: conviction = Σ w × rank. Normalised: each rank mapped to (rank - 1) / (m - 1) in [0, 1]
 * (0.5 when m = 1, and for a missing value), conviction = Σ w × that / Σ |w|, in [0, 1] for positive weights.
 */
export function rankSum(n: number, factors: ResolvedFactor[], normalize: boolean): { conviction: Float64Array; contributions: Record<string, Float64Array> } {
  const conviction = new Float64Array(n);
  const contributions: Record<string, Float64Array> = {};
  const scale = normalize ? factors.reduce((s, f) => s + Math.abs(f.weight), 0) : 1;
  for (const f of factors) {
    const signed = f.direction === 1 ? f.values : f.values.map((v) => -v);
    const r = rankAverage(signed);
    let m = 0;
    for (const v of r) if (!Number.isNaN(v)) m++;
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const rank = Number.isNaN(r[i]) ? (m + 1) / 2 : r[i];
      const x = normalize ? (m > 1 ? (rank - 1) / (m - 1) : 0.5) : rank;
      c[i] = (f.weight * x) / scale;
      conviction[i] += c[i];
    }
    contributions[f.name] = c;
  }
  return { conviction, contributions };
}

const PARAMS = params({
  weights: numberMap('Weight of each factor (feature name to weight); the CARS defaults when omitted, merged over them when given (see `merge_defaults`).'),
  directions: directionsSchema('Sign of each factor.'),
  merge_defaults: bool('Given `weights` override the default weights factor by factor (0 removes a factor); false uses the given weights alone.', true),
  normalize: bool('Map each rank to [0, 1] ((rank - 1) / (n - 1)) and divide by the total weight, so conviction is in [0, 1] whatever the pool size; false sums raw ranks 1..n.', true),
});
export type CarsParams = Static<typeof PARAMS>;

export class CarsRanker implements Ranker<CarsParams> {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'cars',
    description: 'CARS: weighted additive rank-sum across factors.',
    params: PARAMS,
  };

  score(features: FeatureTable, p: CarsParams, _ctx: SelectionContext, _env: StageEnv): RankerResult {
    const { factors, skipped } = resolveFactors('cars', features, CARS_DEFAULT_WEIGHTS, p.weights, p.merge_defaults !== false, p.directions);
    const normalize = p.normalize !== false;
    const { conviction, contributions } = rankSum(features.symbols.length, factors, normalize);
    return { conviction, details: { factors: factorUses(factors), skipped, contributions, normalize } };
  }
}
