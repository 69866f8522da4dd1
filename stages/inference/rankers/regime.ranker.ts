/** The seeds' StrategyRegimeRanker: a MarketRegimeDetector labels NORMAL / TURBULENT / CRISIS from market volatility and drawdown; factor weights per regime. */
import { asOfEnd, type FeatureTable, type ReturnsMatrix, type SelectionContext } from '../../../src/core/context.js';
import { runError } from '../../../src/core/errors.js';
import { annualisedVolatility } from '../../../src/math/features.js';
import { drawdownSeries, maxDrawdown } from '../../../src/math/metrics.js';
import { int, num, numberMap, params, typed, type Static } from '../../../src/core/params.js';
import type { PluginMeta, StageEnv } from '../../../src/core/plugin.js';
import { periodsPerYearFor } from '../../../src/util/annualisation.js';
import { directionsSchema, REGIME_DEFAULT_WEIGHTS, resolveFactors, type Ranker, type RankerResult, type Regime } from '../ranker.js';
import { factorUses, logMps, MPS_SCORING_PARAMS, mpsOptions } from './mps.ranker.js';

export interface RegimeThresholds {
  /** Trailing days the market volatility is measured over. */
  volatilityLookback: number;
  /** Trailing days the market drawdown is measured over. */
  drawdownLookback: number;
  /** Annualised volatility at or above which the market is TURBULENT. */
  turbulentVolatility: number;
  /** Drawdown (negative) at or below which the market is CRISIS. */
  crisisDrawdown: number;
  periodsPerYear: number;
}

export interface RegimeReading {
  regime: Regime;
  /** Annualised standard deviation (ddof 1) of the market's daily returns over the volatility window; NaN with < 2 days. */
  volatility: number;
  /** Current drawdown of the market at the last day, from its peak in the drawdown window (E_0 = 1 before the window): in [-1, 0]. */
  drawdown: number;
  /** Deepest drawdown within the drawdown window, for the record. */
  max_drawdown: number;
  /** Days of market returns used (days on which no symbol had a return are left out). */
  volatility_days: number;
  drawdown_days: number;
  first_day: number | null;
  last_day: number | null;
}

/**
 * The market: the equal-weight mean of the symbols' finite returns each day (a day where none has one is left
 * out). Only the `lookback` rows before `end` (exclusive; the as-of row bound) are read.
 */
export function marketReturns(r: ReturnsMatrix, lookback: number, end = r.dates.length): { days: number[]; returns: number[] } {
  const T = r.dates.length;
  const n = r.symbols.length;
  const days: number[] = [];
  const returns: number[] = [];
  for (let t = Math.max(0, end - lookback); t < end; t++) {
    let s = 0;
    let k = 0;
    for (let j = 0; j < n; j++) {
      const v = r.values[j * T + t];
      if (Number.isFinite(v)) {
        s += v;
        k++;
      }
    }
    if (k) {
      days.push(r.dates[t]);
      returns.push(s / k);
    }
  }
  return { days, returns };
}

/**
 * MarketRegimeDetector: CRISIS when the market's current drawdown is at or below `crisisDrawdown`, else
 * TURBULENT when its annualised volatility is at or above `turbulentVolatility`, else NORMAL. A window too
 * short to measure (fewer than 2 market days) reads NORMAL with NaN volatility.
 */
export function detectRegime(r: ReturnsMatrix, t: RegimeThresholds, end = r.dates.length): RegimeReading {
  const vol = marketReturns(r, t.volatilityLookback, end);
  const dd = marketReturns(r, t.drawdownLookback, end);
  const volatility = annualisedVolatility(vol.returns, t.periodsPerYear);
  const path = drawdownSeries(dd.returns);
  const drawdown = path.length ? path[path.length - 1]! : 0;
  const maxDd = maxDrawdown(dd.returns);
  const regime: Regime = drawdown <= t.crisisDrawdown ? 'CRISIS' : volatility >= t.turbulentVolatility ? 'TURBULENT' : 'NORMAL';
  const allDays = [...vol.days, ...dd.days];
  return {
    regime,
    volatility,
    drawdown,
    max_drawdown: maxDd,
    volatility_days: vol.returns.length,
    drawdown_days: dd.returns.length,
    first_day: allDays.length ? Math.min(...allDays) : null,
    last_day: allDays.length ? Math.max(...allDays) : null,
  };
}

/** Crypto pools annualise with 365, others with 252: the majority of the pool's asset types decides. */
function poolPeriodsPerYear(ctx: SelectionContext, symbols: string[]): number {
  const pool = new Map((ctx.raw_pool ?? []).map((c) => [c.symbol, c]));
  let crypto = 0;
  for (const s of symbols) if (periodsPerYearFor(pool.get(s)) === 365) crypto++;
  return crypto * 2 > symbols.length ? 365 : 252;
}

const regimeWeights = numberMap('Weights in this regime (merged over `weights` and the regime defaults).');

const PARAMS = params({
  weights: numberMap('Factor weights used in every regime unless overridden.'),
  regime_weights: typed<Partial<Record<Regime, Record<string, number>>> | undefined>({
    type: 'object',
    additionalProperties: false,
    properties: { NORMAL: regimeWeights, TURBULENT: regimeWeights, CRISIS: regimeWeights },
    description: 'Factor weights per regime.',
  }),
  volatility_lookback: int('Days of market volatility the detector reads.', 20, { min: 2 }),
  turbulent_volatility: num('Annualised market volatility at which the regime is TURBULENT.', 0.6, { exclusiveMin: 0 }),
  crisis_drawdown: num('Market drawdown (negative) at which the regime is CRISIS.', -0.3, { max: 0 }),
  drawdown_lookback: int('Days over which the market drawdown (from its peak in the window) is measured; `volatility_lookback` when omitted.', undefined, { min: 2 }),
  periods_per_year: int('Annualisation of the market volatility; by the pool\'s asset types when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
  directions: directionsSchema('Sign of each factor: 1 higher is better, -1 lower is better; the defaults for the built-in factors when omitted.'),
  ...MPS_SCORING_PARAMS,
});
export type RegimeParams = Static<typeof PARAMS>;

export class RegimeRanker implements Ranker<RegimeParams> {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'regime',
    description: 'The seeds\' StrategyRegimeRanker: a MarketRegimeDetector labels NORMAL / TURBULENT / CRISIS from market volatility and drawdown; factor weights per regime.',
    aliases: [{ name: 'strategy_regime', deprecated: "renamed to 'regime' (the seeds' StrategyRegimeRanker)" }],
    params: PARAMS,
  };

  score(features: FeatureTable, p: RegimeParams, ctx: SelectionContext, _env: StageEnv): RankerResult {
    if (!ctx.returns) throw runError('NO_RETURNS', "ranker 'regime' reads market returns; the ingestion stage provides them");
    const volatilityLookback = p.volatility_lookback ?? 20;
    const thresholds: RegimeThresholds = {
      volatilityLookback,
      drawdownLookback: p.drawdown_lookback ?? volatilityLookback,
      turbulentVolatility: p.turbulent_volatility ?? 0.6,
      crisisDrawdown: p.crisis_drawdown ?? -0.3,
      periodsPerYear: p.periods_per_year ?? poolPeriodsPerYear(ctx, ctx.returns.symbols),
    };
    const reading = detectRegime(ctx.returns, thresholds, asOfEnd(ctx.returns, ctx.as_of));
    const regime = reading.regime;
    const perRegime = p.regime_weights?.[regime];
    const given = p.weights || perRegime ? { ...p.weights, ...perRegime } : undefined;
    const { factors, skipped } = resolveFactors('regime', features, REGIME_DEFAULT_WEIGHTS[regime], given, p.merge_defaults !== false, p.directions);
    const o = mpsOptions(p);
    const { conviction, contributions } = logMps(features.symbols.length, factors, o);
    return {
      conviction,
      regime,
      details: {
        factors: factorUses(factors),
        skipped,
        contributions,
        missing_policy: o.missing,
        ddof: o.ddof,
        detector: {
          ...reading,
          thresholds: { turbulent_volatility: thresholds.turbulentVolatility, crisis_drawdown: thresholds.crisisDrawdown },
          volatility_lookback: thresholds.volatilityLookback,
          drawdown_lookback: thresholds.drawdownLookback,
          periods_per_year: thresholds.periodsPerYear,
        },
      },
    };
  }
}
