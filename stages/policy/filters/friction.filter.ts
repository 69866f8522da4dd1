/**
 * Execution-cost vetoes: the ECI (execution cost index) above its ceiling. The seeds name the ECI and its ceiling
 * (0.02) but not its formula; here it is the estimated cost of trading a reference order, as a fraction of the
 * order (docs/funnel.md):
 *
 *   ECI = fixed_cost + impact_coefficient * sigma_daily * sqrt(order_size / ADV)
 *
 * fixed_cost is the seeds' friction (5 bps slippage + 1 bp commission = 0.0006); the second term is the square-root
 * market-impact law (Torre 1997; Almgren et al. 2005; Bouchaud et al.), with sigma_daily the sample standard
 * deviation (ddof 1) of the symbol's daily returns over the last `lookback` days up to the as-of date and ADV its
 * average daily dollar volume (feature `dollar_volume`, else the candidate's 24h volume). A $1M order in a coin
 * with 4% daily volatility costs 0.02 at an ADV of about $4.3M. Unknown volume or volatility gives no veto (value
 * null): the darwinian filter is where missing liquidity is vetoed.
 */
import { dict } from '../../../src/util/keyed.js';
import { asOfEnd, type FeatureTable, type SelectionContext } from '../../../src/core/context.js';
import { int, num, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { sampleStd } from '../../../src/math/features.js';
import { ceiling, optionalFeatureColumn, relaxCeiling, returnsColumn, type Filter, type FilterCheck, type FilterVerdicts } from '../filter.js';

export interface EciInputs {
  sigmaDaily: number;
  adv: number;
  orderSize: number;
  fixedCost: number;
  impactCoefficient: number;
}

/** The execution cost index of one symbol (NaN when volatility or volume is unknown, or the volume is not positive). */
export function executionCostIndex({ sigmaDaily, adv, orderSize, fixedCost, impactCoefficient }: EciInputs): number {
  if (!Number.isFinite(sigmaDaily) || !Number.isFinite(adv) || adv <= 0) return NaN;
  return fixedCost + impactCoefficient * sigmaDaily * Math.sqrt(orderSize / adv);
}

const PARAMS = params({
  eci_max: num('Largest execution cost index.', 0.02, { min: 0 }),
  order_size: num('Reference order in quote currency (USD) the ECI prices.', 1_000_000, { exclusiveMin: 0 }),
  fixed_cost: num('Fixed cost per trade as a fraction (5 bps slippage + 1 bp commission).', 0.0006, { min: 0 }),
  impact_coefficient: num('Coefficient of the square-root impact term.', 1, { min: 0 }),
  lookback: int('Days of returns (up to the as-of date) for the daily volatility.', 60, { min: 2 }),
});
export type FrictionParams = Static<typeof PARAMS>;

export class FrictionFilter implements Filter<FrictionParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'friction',
    description: 'Execution-cost vetoes: the ECI (execution cost index) above its ceiling.',
    params: PARAMS,
  };

  readonly hard = false;

  evaluate(features: FeatureTable, p: FrictionParams, ctx: SelectionContext): FilterVerdicts {
    const dollarVolume = optionalFeatureColumn(features, 'dollar_volume');
    const pool = new Map((ctx.raw_pool ?? []).map((c) => [c.symbol, c]));
    const returns = ctx.returns;
    const index = new Map((returns?.symbols ?? []).map((s, j) => [s, j]));
    const end = returns ? asOfEnd(returns, ctx.as_of) : 0;
    const start = Math.max(0, end - p.lookback);
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      const j = index.get(s);
      const sigmaDaily = returns && j !== undefined ? sampleStd(returnsColumn(returns, j, start, end)) : NaN;
      const adv = Number.isFinite(dollarVolume[i]!) ? dollarVolume[i]! : (pool.get(s)?.volume_24h ?? NaN);
      const eci = executionCostIndex({
        sigmaDaily,
        adv,
        orderSize: p.order_size,
        fixedCost: p.fixed_cost,
        impactCoefficient: p.impact_coefficient,
      });
      out[s] = [ceiling('eci', eci, p.eci_max)];
    });
    return out;
  }

  relax(p: FrictionParams, amount: number): FrictionParams {
    return { ...p, eci_max: relaxCeiling(p.eci_max, amount) };
  }
}
