/**
 * Health vetoes: too much missing data, too little volume, too short a history. Hard: never relaxed (HTR stage 2),
 * and HTR stages 3 and 4 never force a symbol it vetoes.
 * - missing_fraction (feature) > max_missing_pct;
 * - average daily dollar volume (feature `dollar_volume`, else the candidate's 24h volume) < min_volume; when
 *   min_volume > 0 and neither is known, the symbol is vetoed (value null): health is strict;
 * - days with a return in ctx.returns up to the as-of date < min_history_days;
 * - annualised volatility (feature, when computed) < min_volatility: a price that never moves (a halted listing,
 *   a peg) scores as perfectly safe and predictable on every ranker, so it is vetoed as unhealthy instead.
 */
import { dict } from '../../../src/util/keyed.js';
import { asOfEnd, type FeatureTable, type SelectionContext } from '../../../src/core/context.js';
import { fraction, int, num, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { ceiling, featureColumn, optionalFeatureColumn, floor, type Filter, type FilterCheck, type FilterVerdicts } from '../filter.js';

const PARAMS = params({
  max_missing_pct: fraction('Largest missing fraction of the window (0.1 = 10%).', 0.1),
  min_volume: num('Smallest average daily dollar volume.', 0, { min: 0 }),
  min_history_days: int('Fewest days of history.', 60, { min: 0 }),
  min_volatility: num('Smallest annualised volatility (feature `volatility`); below it the price is taken as not moving (halted, pegged).', 1e-4, { min: 0 }),
});
export type DarwinianParams = Static<typeof PARAMS>;

export class DarwinianFilter implements Filter<DarwinianParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'darwinian',
    description: 'Health vetoes: too much missing data, too little volume, too short a history.',
    params: PARAMS,
  };

  readonly hard = true;

  evaluate(features: FeatureTable, p: DarwinianParams, ctx: SelectionContext): FilterVerdicts {
    const maxMissing = p.max_missing_pct;
    const minVolume = p.min_volume;
    const minHistory = p.min_history_days;
    const missing = featureColumn(features, 'missing_fraction');
    const dollarVolume = optionalFeatureColumn(features, 'dollar_volume');
    const volatility = optionalFeatureColumn(features, 'volatility');
    const minVolatility = p.min_volatility;
    const pool = new Map((ctx.raw_pool ?? []).map((c) => [c.symbol, c]));
    const history = historyDays(features.symbols, ctx);
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      const volume = Number.isFinite(dollarVolume[i]!) ? dollarVolume[i]! : (pool.get(s)?.volume_24h ?? NaN);
      const volumeCheck = floor('dollar_volume', volume, minVolume);
      if (minVolume > 0 && !Number.isFinite(volume)) volumeCheck.vetoed = true;
      out[s] = [ceiling('missing_fraction', missing[i]!, maxMissing), volumeCheck, floor('history_days', history[i]!, minHistory), floor('volatility', volatility[i]!, minVolatility)];
    });
    return out;
  }

  /** Hard: data health is never relaxed. */
  relax(p: DarwinianParams): DarwinianParams {
    return { ...p };
  }
}

/** Days with a finite return up to the as-of date, per symbol (0 when the symbol has no returns column). */
function historyDays(symbols: string[], ctx: SelectionContext): Float64Array {
  const out = new Float64Array(symbols.length);
  const r = ctx.returns;
  if (!r) return out.fill(NaN);
  const T = r.dates.length;
  const end = asOfEnd(r, ctx.as_of);
  const index = new Map(r.symbols.map((s, j) => [s, j]));
  symbols.forEach((s, i) => {
    const j = index.get(s);
    if (j === undefined) return;
    let n = 0;
    for (let t = 0; t < end; t++) if (Number.isFinite(r.values[j * T + t]!)) n++;
    out[i] = n;
  });
  return out;
}
