/** Tail vetoes: excess kurtosis, annualised volatility or CVaR beyond their limits. */
import { plannedError } from '../../../src/core/planned.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class TailRiskFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'tail_risk',
    description: 'Tail vetoes: excess kurtosis, annualised volatility or CVaR beyond their limits.',
    params: params({
      kurtosis_max: num('Largest excess kurtosis.', 20),
      volatility_max: num('Largest annualised volatility (2.5 = 250%).', 2.5, { min: 0 }),
      cvar_max: num('Largest daily CVaR 95% loss as a positive fraction (omit to skip).', undefined, { min: 0 }),
    }),
    planned: 'the tail-risk filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(TailRiskFilter.meta);
  }
}
