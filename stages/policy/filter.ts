/**
 * The veto filter contract. A filter is one plugin file (kind `filter`) whose class implements `Filter`: it reads
 * the feature table (and, where a filter needs it, the returns up to the as-of date) and returns, per symbol, one
 * check per metric it looks at, vetoed or not, with the value and the threshold. The policy stage records every
 * vetoing check as {filter, metric, value, threshold} in ctx.vetoes.
 *
 * Rules shared by every filter (docs/funnel.md):
 * - A ceiling vetoes a value strictly above it, a floor a value strictly below it: a value equal to its threshold is
 *   kept.
 * - A missing value (NaN: too little data) does not veto, except where the filter
 *   is about missing data (darwinian); the check is still recorded with value null. A feature the filter needs
 *   that was not computed at all is an error (FILTER_FEATURE_MISSING), never a silent pass.
 * - `relax(params, amount)` gives the stage-2 (relaxed) thresholds of the HTR loop; `hard` filters (data health,
 *   fat tails) keep vetoing in stages 3 and 4, when representatives are forced and the pool is filled.
 * - No filter reads a day after ctx.as_of (see `asOfEnd` in core/context).
 */
import { ownGet } from '../../src/util/keyed.js';
import { runError } from '../../src/core/errors.js';
import type { FeatureTable, ReturnsMatrix, SelectionContext } from '../../src/core/context.js';
import type { Params } from '../../src/core/plugin.js';

export interface FilterCheck {
  metric: string;
  /** The measured value; null when it is missing (NaN). */
  value: number | null;
  /** The threshold (for a band, `[lo, hi]` as text). */
  threshold: number | string;
  /** `max`: vetoed above; `min`: vetoed below; `inside`/`outside`: vetoed inside/outside a band. */
  rule: 'max' | 'min' | 'inside' | 'outside';
  vetoed: boolean;
}

/** Per symbol, the checks of one filter. */
/**
 * Each symbol's checks. Make it with `dict()` (src/util/keyed.ts): symbols are names users choose,
 * and `out[symbol] = …` on a plain `{}` would set the prototype for a symbol called `__proto__`.
 */
export type FilterVerdicts = Record<string, FilterCheck[]>;

/** A symbol's checks, own entries only (never Object.prototype's); a filter of a plugin module may return a Map. */
export function verdictsOf(v: FilterVerdicts | Map<string, FilterCheck[]>, symbol: string): FilterCheck[] {
  return (v instanceof Map ? v.get(symbol) : ownGet(v, symbol)) ?? [];
}

export interface Filter<P = Params> {
  /** Data-health and fat-tail filters are hard: HTR stages 3 and 4 never force a symbol they veto. */
  readonly hard: boolean;
  evaluate(features: FeatureTable, params: P, ctx: SelectionContext): FilterVerdicts;
  /** Relaxed params for HTR stage 2 (`amount` = the policy's `relaxation_amount`, 0.2 by default). */
  relax(params: P, amount: number): P;
}

export const toValue = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A ceiling: vetoed when value > max (NaN never vetoes). */
export function ceiling(metric: string, value: number, max: number): FilterCheck {
  return { metric, value: toValue(value), threshold: max, rule: 'max', vetoed: Number.isFinite(value) && value > max };
}

/** A floor: vetoed when value < min (NaN never vetoes). */
export function floor(metric: string, value: number, min: number): FilterCheck {
  return { metric, value: toValue(value), threshold: min, rule: 'min', vetoed: Number.isFinite(value) && value < min };
}

/**
 * A feature column a filter needs. A filter never passes symbols silently because its feature was not computed
 * (feature_engineering's `features` left it out): that is an error naming the feature.
 */
export function featureColumn(features: FeatureTable, name: string): Float64Array {
  const col = features.values[name];
  if (!col) throw runError('FILTER_FEATURE_MISSING', `a policy filter needs the feature '${name}', which feature_engineering did not compute`, `Add '${name}' to feature_engineering's \`features\` (or leave \`features\` out to compute them all).`);
  return col;
}

/** A feature column a filter can do without (it has a fallback), or NaN for every symbol. */
export function optionalFeatureColumn(features: FeatureTable, name: string): Float64Array {
  return features.values[name] ?? new Float64Array(features.symbols.length).fill(NaN);
}


/** Column j of the returns, rows [start, end). */
export function returnsColumn(returns: ReturnsMatrix, j: number, start: number, end: number): Float64Array {
  const T = returns.dates.length;
  return returns.values.subarray(j * T + start, j * T + end);
}

/** Relaxation of a ceiling: up by `amount` (x (1 + amount)). */
export const relaxCeiling = (max: number, amount: number): number => max * (1 + amount);
/** Relaxation of a non-negative floor: down by `amount` (x (1 - amount)). */
export const relaxFloor = (min: number, amount: number): number => min * (1 - amount);
/** Relaxation of a ceiling bounded by 1 (an entropy): its distance to 1 shrinks to `amount` of itself (0.995 → 0.999). */
export const relaxUnitCeiling = (max: number, amount: number): number => 1 - (1 - max) * amount;
