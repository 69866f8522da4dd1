/**
 * The entropy the spectral and predictability filters veto on. By default the normalised permutation entropy
 * (order 3, delay 1) of each symbol's daily returns over the last `entropy_lookback` days up to the as-of date,
 * computed here from ctx.returns (src/math/permutation-entropy.ts): on daily crypto returns it runs 0.92-1.0
 * (median about 0.987 over 60 days), so the seeds' ceiling 0.995 vetoes the most pattern-free (noisiest) ~15%.
 * `entropy_measure: feature` uses the feature table's `entropy` (histogram entropy, 10 bins) instead.
 */
import { asOfEnd, type FeatureTable, type SelectionContext } from '../../../src/core/context.js';
import { int, oneOfStr, type ObjectOf } from '../../../src/core/params.js';
import { permutationEntropy } from '../../../src/math/permutation-entropy.js';
import { featureColumn } from '../filter.js';

export const ENTROPY_PARAMS = {
  entropy_measure: oneOfStr(['permutation', 'feature'] as const, "Entropy vetoed on: 'permutation' (normalised permutation entropy of the returns, computed by the filter) or 'feature' (the feature table's histogram entropy).", 'permutation'),
  entropy_order: int('Permutation entropy order (pattern length).', 3, { min: 2, max: 7 }),
  entropy_lookback: int('Days of returns (up to the as-of date) the permutation entropy is computed over.', 60, { min: 3 }),
};

/** The entropy params a filter takes (spread into its own). */
export type EntropyParams = ObjectOf<typeof ENTROPY_PARAMS>;

export interface EntropyColumn {
  metric: string;
  values: Float64Array;
}

/** One entropy per feature-table symbol, by the measure the params name. */
export function entropyColumn(features: FeatureTable, p: EntropyParams, ctx: SelectionContext): EntropyColumn {
  const measure = p.entropy_measure ?? 'permutation';
  if (measure === 'feature' || !ctx.returns) return { metric: 'entropy', values: featureColumn(features, 'entropy') };
  const order = p.entropy_order ?? 3;
  const lookback = p.entropy_lookback ?? 60;
  return { metric: `permutation_entropy_${order}`, values: permutationEntropies(features.symbols, ctx, order, lookback) };
}

export function permutationEntropies(symbols: string[], ctx: SelectionContext, order: number, lookback: number): Float64Array {
  const out = new Float64Array(symbols.length).fill(NaN);
  const returns = ctx.returns;
  if (!returns) return out;
  const T = returns.dates.length;
  const end = asOfEnd(returns, ctx.as_of);
  const start = Math.max(0, end - lookback);
  const index = new Map(returns.symbols.map((s, j) => [s, j]));
  symbols.forEach((s, i) => {
    const j = index.get(s);
    if (j !== undefined) out[i] = permutationEntropy(returns.values, order, 1, j * T + start, j * T + end);
  });
  return out;
}
