/**
 * The ranker contract and the factor conventions the built-in rankers share (default directions and weights, how
 * given weights combine with the defaults, which factors are used). See docs/rankers.md.
 *
 * A ranker reads the feature table (symbol × factor) and returns one conviction per symbol, higher is better,
 * indexed like `features.symbols`. It must not mutate the context: the inference stage stores its result
 * (`ctx.scores`, `ctx.champion`, `ctx.regime`) and writes the artifacts and audit events.
 */
import type { FeatureTable, SelectionContext } from '../../src/core/context.js';
import { typed } from '../../src/core/params.js';
import { runError } from '../../src/core/errors.js';
import { suggestionHint } from '../../src/config/diagnostics.js';
import type { Params, StageEnv } from '../../src/core/plugin.js';

export type Regime = 'NORMAL' | 'TURBULENT' | 'CRISIS';
export const REGIMES: readonly Regime[] = ['NORMAL', 'TURBULENT', 'CRISIS'];

export interface FactorUse {
  weight: number;
  /** 1: higher is better; -1: lower is better. */
  direction: 1 | -1;
  /** Symbols with no finite value for this factor. */
  missing: number;
}

export interface RankerResult {
  /** One value per symbol of `features.symbols`, higher is better. */
  conviction: Float64Array;
  /** Set by a regime-aware ranker: the market regime it detected (the stage copies it to `ctx.regime`). */
  regime?: Regime;
  /**
   * What the score is made of, for the audit and scores.json: the factors used with weight, direction and
   * missing count; the factors left out and why; each factor's per-symbol contribution to the conviction.
   */
  details?: {
    factors: Record<string, FactorUse>;
    skipped: { factor: string; reason: string }[];
    contributions?: Record<string, Float64Array>;
    [key: string]: unknown;
  };
}

export interface Ranker<P = Params> {
  score(features: FeatureTable, params: P, ctx: SelectionContext, env: StageEnv): RankerResult;
}

/**
 * Direction of each factor the feature_engineering stage computes (docs/math.md): 1 when more is better for a
 * long, -1 when less is better. max_drawdown is a depth in [0, 1] and cvar_95 a return (negative = loss), so
 * the first is lower-is-better and the second higher-is-better. A factor not listed here is higher-is-better
 * unless `directions` says otherwise.
 */
export const DEFAULT_DIRECTIONS: Record<string, 1 | -1> = {
  momentum: 1,
  roc: 1,
  volatility: -1,
  skew: 1,
  kurtosis: -1,
  cvar_95: 1,
  max_drawdown: -1,
  entropy: -1,
  hurst: 1,
  efficiency: 1,
  adx: 1,
  dollar_volume: 1,
  missing_fraction: -1,
};

/**
 * Log-MPS default weights. The seeds name the inputs of Log-MPS (momentum/ROC, ADX, Volatility.D, CVaR
 * penalisation, skew/kurtosis "tail-risk selection alpha", entropy and efficiency as the predictability pillar)
 * but not their weights; these are ours: the alpha factor and the two predictability factors at 1, risk at 0.5,
 * higher moments at 0.25. roc is left out (it is 100 × momentum on the same window: it would count momentum
 * twice), hurst too (noisy below a few hundred days), dollar_volume (heavy-tailed; liquidity is a floor in
 * ingestion and the darwinian filter) and missing_fraction (a veto, not an alpha).
 */
export const MPS_DEFAULT_WEIGHTS: Record<string, number> = {
  momentum: 1,
  efficiency: 1,
  entropy: 1,
  adx: 0.5,
  volatility: 0.5,
  max_drawdown: 0.5,
  cvar_95: 0.5,
  skew: 0.25,
  kurtosis: 0.25,
};

/** CARS 2.1 is the seeds' "additive rank-sum for drawdown protection": momentum against three drawdown/risk factors. */
export const CARS_DEFAULT_WEIGHTS: Record<string, number> = {
  momentum: 1,
  volatility: 1,
  max_drawdown: 1,
  cvar_95: 0.5,
  efficiency: 0.5,
};

/**
 * Regime weights: NORMAL is Log-MPS as is; TURBULENT and CRISIS tilt from momentum to the risk factors (the seeds
 * tighten cluster caps 0.25 → 0.20 → 0.15 along the same path).
 */
export const REGIME_DEFAULT_WEIGHTS: Record<Regime, Record<string, number>> = {
  NORMAL: { ...MPS_DEFAULT_WEIGHTS },
  TURBULENT: { momentum: 0.75, efficiency: 1, entropy: 1, adx: 0.25, volatility: 1, max_drawdown: 1, cvar_95: 1, skew: 0.25, kurtosis: 0.5 },
  CRISIS: { momentum: 0.25, efficiency: 0.5, entropy: 0.5, adx: 0, volatility: 1.5, max_drawdown: 1.5, cvar_95: 1.5, skew: 0.5, kurtosis: 0.75 },
};

export interface ResolvedFactor {
  name: string;
  weight: number;
  direction: 1 | -1;
  values: Float64Array;
}

/**
 * The factors a ranker uses: `given` weights merged over `defaults` factor by factor (or used alone when
 * `merge` is false), weight 0 dropping a factor, `directions` over DEFAULT_DIRECTIONS. A factor the user named
 * that the feature table does not hold is an error (a typo must not silently drop a factor); a default factor
 * the table does not hold, or one with no finite value at all (e.g. ADX without OHLC bars), is skipped and said so.
 */
export function resolveFactors(
  ranker: string,
  features: FeatureTable,
  defaults: Record<string, number>,
  given: Record<string, number> | undefined,
  merge: boolean,
  directions: Record<string, number> | undefined,
): { factors: ResolvedFactor[]; skipped: { factor: string; reason: string }[] } {
  const weights: Record<string, number> = given ? (merge ? { ...defaults, ...given } : { ...given }) : { ...defaults };
  const userNamed = new Set([...Object.keys(given ?? {}), ...Object.keys(directions ?? {})]);
  const unknown = [...userNamed].filter((f) => !features.names.includes(f) && (given?.[f] !== 0 || !(f in (given ?? {}))));
  if (unknown.length)
    throw runError(
      'RANKER_UNKNOWN_FACTOR',
      `ranker '${ranker}' names factor${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => `'${f}'`).join(', ')} that the feature table does not hold (it holds: ${features.names.join(', ')})`,
      `${suggestionHint(unknown[0], features.names, 'factors')} Compute it in feature_engineering (its \`features\` param) or drop it from the ranker's weights/directions.`,
    );
  const factors: ResolvedFactor[] = [];
  const skipped: { factor: string; reason: string }[] = [];
  for (const [name, weight] of Object.entries(weights)) {
    if (weight === 0) {
      skipped.push({ factor: name, reason: 'weight 0' });
      continue;
    }
    const values = features.values[name];
    if (!values || !features.names.includes(name)) {
      skipped.push({ factor: name, reason: 'not in the feature table' });
      continue;
    }
    if (!values.some(Number.isFinite)) {
      skipped.push({ factor: name, reason: 'no symbol has a value' });
      continue;
    }
    const d = directions?.[name] ?? DEFAULT_DIRECTIONS[name] ?? 1;
    factors.push({ name, weight, direction: d < 0 ? -1 : 1, values });
  }
  if (!factors.length)
    throw runError('RANKER_NO_FACTORS', `ranker '${ranker}' has no factor to score on (${skipped.map((s) => `${s.factor}: ${s.reason}`).join('; ') || 'no weights'})`, 'Give it weights for factors the feature_engineering stage computes.');
  return { factors, skipped };
}

export const countMissing = (x: Float64Array): number => x.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);

/** Shared params of the factor rankers (added in 4.0 beside the original `weights` and `directions`). */
export const directionsSchema = (description: string) => typed<Record<string, number> | undefined>({ type: 'object', additionalProperties: { type: 'integer', enum: [-1, 1] }, description });
