/** The seeds' StrategyRegimeRanker: a MarketRegimeDetector labels NORMAL / TURBULENT / CRISIS from market volatility and drawdown; factor weights per regime. */
import { plannedError } from '../../../src/core/planned.js';
import { int, num, numberMap, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class RegimeRanker {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'regime',
    description: 'The seeds\' StrategyRegimeRanker: a MarketRegimeDetector labels NORMAL / TURBULENT / CRISIS from market volatility and drawdown; factor weights per regime.',
    aliases: [{ name: 'strategy_regime', deprecated: "renamed to 'regime' (the seeds' StrategyRegimeRanker)" }],
    params: params({
      weights: numberMap('Factor weights used in every regime unless overridden.'),
      regime_weights: {
        type: 'object',
        additionalProperties: false,
        properties: { NORMAL: numberMap('Weights in NORMAL.'), TURBULENT: numberMap('Weights in TURBULENT.'), CRISIS: numberMap('Weights in CRISIS.') },
        description: 'Factor weights per regime.',
      },
      volatility_lookback: int('Days of market volatility the detector reads.', 20, { min: 2 }),
      turbulent_volatility: num('Annualised market volatility at which the regime is TURBULENT.', 0.6, { exclusiveMin: 0 }),
      crisis_drawdown: num('Market drawdown (negative) at which the regime is CRISIS.', -0.3, { max: 0 }),
    }),
    planned: 'the regime ranker lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(RegimeRanker.meta);
  }
}
