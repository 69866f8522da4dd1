/** Log-MPS: each factor mapped to a probability by the normal CDF of its signed cross-sectional z-score; conviction is the weighted sum of log-probabilities. */
import type { FeatureTable, SelectionContext } from '../../../src/core/context.js';
import { bool, num, numberMap, oneOfStr, params, typed, type ObjectOf, type Static } from '../../../src/core/params.js';
import type { PluginMeta, StageEnv } from '../../../src/core/plugin.js';
import { countMissing, directionsSchema, MPS_DEFAULT_WEIGHTS, resolveFactors, type FactorUse, type Ranker, type RankerResult, type ResolvedFactor } from '../ranker.js';
import { logNormalCdf, zscores } from '../stats.js';

export const MPS_MISSING = ['neutral', 'rescale'] as const;
export type MpsMissing = (typeof MPS_MISSING)[number];

export interface MpsOptions {
  ddof: 0 | 1;
  /** Clip z-scores to ±z_clip before the CDF (undefined: no clip). */
  zClip?: number;
  missing: MpsMissing;
}

/** The params every MPS-style ranker takes (the regime ranker scores with MPS too). */
export const MPS_SCORING_PARAMS = {
  merge_defaults: bool('Given `weights` override the default weights factor by factor (0 removes a factor); false uses the given weights alone.', true),
  ddof: typed<0 | 1>({ type: 'integer', enum: [0, 1], default: 1, description: 'Delta degrees of freedom of the cross-sectional standard deviation: 1 like pandas `std()`, 0 like scipy `zscore`.' }),
  z_clip: num('Clip each z-score to ±z_clip before the normal CDF (limits the pull of one outlier); no clip when omitted.', undefined, { exclusiveMin: 0 }),
  missing: oneOfStr(MPS_MISSING, "A symbol without a value for a factor: 'neutral' scores it at z = 0 (contributes weight × log 0.5); 'rescale' scores it on the factors it has, rescaled by total weight / weight it has.", 'neutral'),
};

export type MpsScoringParams = ObjectOf<typeof MPS_SCORING_PARAMS>;

export const mpsOptions = (p: MpsScoringParams): MpsOptions => ({
  ddof: p.ddof ?? 1,
  zClip: p.z_clip,
  missing: p.missing ?? 'neutral',
});

/**
 * Log-MPS over resolved factors: z_f = direction_f × zscore(x_f); p_f = Φ(z_f); conviction = Σ_f w_f log p_f.
 * Missing values: see `MpsOptions.missing`.
 */
export function logMps(n: number, factors: ResolvedFactor[], o: MpsOptions): { conviction: Float64Array; contributions: Record<string, Float64Array> } {
  const conviction = new Float64Array(n);
  const have = new Float64Array(n); // Σ w over the factors a symbol has
  const total = factors.reduce((s, f) => s + f.weight, 0);
  const contributions: Record<string, Float64Array> = {};
  const neutral = Math.log(0.5);
  for (const f of factors) {
    const z = zscores(f.values, o.ddof);
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let zi = z[i];
      if (Number.isNaN(zi)) {
        c[i] = o.missing === 'neutral' ? f.weight * neutral : 0;
      } else {
        zi *= f.direction;
        if (o.zClip !== undefined) zi = Math.max(-o.zClip, Math.min(o.zClip, zi));
        c[i] = f.weight * logNormalCdf(zi);
        have[i] += f.weight;
      }
      conviction[i] += c[i];
    }
    contributions[f.name] = c;
  }
  if (o.missing === 'rescale')
    for (let i = 0; i < n; i++) {
      if (have[i] === 0) conviction[i] = total * neutral; // nothing known: the neutral score
      else if (have[i] !== total) {
        const k = total / have[i];
        conviction[i] *= k;
        for (const f of factors) contributions[f.name][i] *= k;
      }
    }
  return { conviction, contributions };
}

export const factorUses = (factors: ResolvedFactor[]): Record<string, FactorUse> =>
  Object.fromEntries(factors.map((f) => [f.name, { weight: f.weight, direction: f.direction, missing: countMissing(f.values) }]));

const PARAMS = params({
  weights: numberMap('Weight of each factor (feature name to weight); the seed defaults when omitted, merged over them when given (see `merge_defaults`).'),
  directions: directionsSchema('Sign of each factor: 1 higher is better, -1 lower is better; the defaults for the built-in factors when omitted.'),
  ...MPS_SCORING_PARAMS,
});
export type MpsParams = Static<typeof PARAMS>;

export class MpsRanker implements Ranker<MpsParams> {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'mps',
    description: 'Log-MPS: each factor mapped to a probability by the normal CDF of its signed cross-sectional z-score; conviction is the weighted sum of log-probabilities.',
    params: PARAMS,
  };

  score(features: FeatureTable, p: MpsParams, _ctx: SelectionContext, _env: StageEnv): RankerResult {
    const { factors, skipped } = resolveFactors('mps', features, MPS_DEFAULT_WEIGHTS, p.weights, p.merge_defaults !== false, p.directions);
    const o = mpsOptions(p);
    const { conviction, contributions } = logMps(features.symbols.length, factors, o);
    return { conviction, details: { factors: factorUses(factors), skipped, contributions, missing_policy: o.missing, ddof: o.ddof, ...(o.zClip !== undefined ? { z_clip: o.zClip } : {}) } };
  }
}
