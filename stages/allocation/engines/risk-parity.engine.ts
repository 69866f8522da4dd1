/** Equal risk contribution, with optional risk budgets. */
import { plannedError } from '../../../src/core/planned.js';
import { numberMap, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class RiskParityEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'risk_parity',
    description: 'Equal risk contribution, with optional risk budgets.',
    params: params({ budgets: numberMap('Risk budget per symbol (normalised); equal when omitted.') }),
    planned: 'the risk_parity engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(RiskParityEngine.meta);
  }
}
