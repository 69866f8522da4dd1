/**
 * Feature engineering: per-symbol factors over a trailing window, computed on typed arrays by src/math/features.ts
 * (formulas in docs/math.md). Annualisation follows the asset type: 365 for crypto (spot, perp), 252 otherwise.
 */
import { asOfEnd, type FeatureTable, type SelectionContext } from '../../src/core/context.js';
import { inputError, runError } from '../../src/core/errors.js';
import { int, params, typed, type Static } from '../../src/core/params.js';
import type { Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { BAR_FEATURES, computeSelectedFeatures, type SymbolFeatures } from '../../src/math/features.js';
import { periodsPerYearFor } from '../../src/util/annualisation.js';
import { bySymbol } from '../../src/util/keyed.js';

/** Config-facing feature names and the kernel's field for each. */
export const FEATURES = {
  momentum: 'momentum',
  roc: 'roc',
  volatility: 'volatility',
  skew: 'skew',
  kurtosis: 'kurtosis',
  cvar_95: 'cvar95',
  max_drawdown: 'maxDrawdown',
  entropy: 'entropy',
  hurst: 'hurst',
  efficiency: 'efficiency',
  adx: 'adx',
  dollar_volume: 'dollarVolume',
  missing_fraction: 'missingFraction',
} as const satisfies Record<string, keyof SymbolFeatures>;
export type FeatureName = keyof typeof FEATURES;
export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

const PARAMS = params({
  lookback: int('Trailing window in days.', 60, { min: 2 }),
  features: typed<FeatureName[] | undefined>({ type: 'array', items: { type: 'string', enum: FEATURE_NAMES }, uniqueItems: true, minItems: 1, description: 'Factors to compute; all by default.' }),
  periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
  adx_period: int("Wilder's ADX period.", 14, { min: 2 }),
  entropy_bins: int('Bins for the normalised return entropy.', 10, { min: 2 }),
});
export type FeatureParams = Static<typeof PARAMS>;

export class FeatureEngineeringStage implements Stage<SelectionContext, FeatureParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'feature_engineering',
    description: 'Computes per-symbol factors (momentum, volatility, tails, entropy, Hurst, efficiency, ADX, liquidity) over a trailing window.',
    documents: ['selection'],
    requires: ['returns'],
    provides: ['features'],
    params: PARAMS,
  };

  async execute(ctx: SelectionContext, p: FeatureParams, env: StageEnv): Promise<SelectionContext> {
    const returns = ctx.returns;
    if (!returns) throw runError('NO_RETURNS', 'feature_engineering needs returns; the ingestion stage provides them');
    const lookback = p.lookback;
    const names = p.features ?? FEATURE_NAMES;
    const T = returns.dates.length;
    // Ingestion already stops at the as-of date; a stage never reads past it anyway.
    const end = asOfEnd(returns, ctx.as_of);
    const n = returns.symbols.length;
    if (end < 2) throw inputError('NOT_ENOUGH_HISTORY', `feature_engineering needs at least 2 days of returns, got ${end}`);
    const pool = bySymbol(ctx.raw_pool ?? []);
    // Bars only for the features that read them (ingestion may make a bar column only when it is first read).
    const readsBars = names.some((k) => BAR_FEATURES.has(FEATURES[k]));
    const prices = readsBars && ctx.prices && ctx.prices.symbols.length === n && ctx.prices.dates.length === T ? ctx.prices : undefined;
    const values: Record<string, Float64Array> = Object.fromEntries(names.map((k) => [k, new Float64Array(n)]));
    // Only the features asked for are computed.
    const kernels = names.map((k) => FEATURES[k]);
    // Each symbol's columns from the first row its window reads (the bars one row before the first return), so that
    // the window is the whole view: one view per column and symbol, not a view of a view.
    const from = Math.max(0, end - lookback - (prices ? 1 : 0));
    const col = (a: Float64Array | undefined, j: number) => a?.subarray(j * T + from, j * T + end);
    for (let j = 0; j < n; j++) {
      const f = computeSelectedFeatures(
        { returns: returns.values.subarray(j * T + from, j * T + end), close: col(prices?.close, j), high: col(prices?.high, j), low: col(prices?.low, j), volume: col(prices?.volume, j) },
        {
          lookback,
          periodsPerYear: p.periods_per_year ?? periodsPerYearFor(pool.get(returns.symbols[j])),
          adxPeriod: p.adx_period,
          entropyBins: p.entropy_bins,
        },
        kernels,
      );
      for (const k of names) values[k][j] = f[FEATURES[k]]!;
      if (j % 50 === 49) env.progress('features', j + 1, n);
    }
    env.progress('features', n, n);
    const table: FeatureTable = { symbols: returns.symbols, names, values };
    ctx.features = table;
    await env.artifacts.writeJson('features.json', { lookback, symbols: table.symbols, features: table.values });
    env.audit.event('feature_engineering', 'features_computed', { symbols: n, lookback, days_available: T, features: names, artifact: 'features.json' });
    return ctx;
  }
}
