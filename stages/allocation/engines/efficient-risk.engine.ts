/** Highest expected return at a target volatility. */
import { plannedError } from '../../../src/core/planned.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class EfficientRiskEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'efficient_risk',
    description: 'Highest expected return at a target volatility.',
    params: params({ target_volatility: num('Annualised volatility target.', undefined, { exclusiveMin: 0 }) }, { required: ['target_volatility'] }),
    planned: 'the efficient_risk engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(EfficientRiskEngine.meta);
  }
}
