/**
 * Tail vetoes (CR-630/631): excess kurtosis > kurtosis_max (20), annualised volatility > volatility_max (2.5 = 250%),
 * and, when cvar_max is given, a daily CVaR 95% loss (minus the feature `cvar_95`) above it. Hard (the seeds' "hard
 * veto"): never relaxed, and HTR stages 3 and 4 never force a symbol it vetoes.
 */
import { dict } from '../../../src/util/keyed.js';
import type { FeatureTable } from '../../../src/core/context.js';
import { num, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { ceiling, featureColumn, type FilterCheck, type Filter, type FilterVerdicts } from '../filter.js';

const PARAMS = params({
  kurtosis_max: num('Largest excess kurtosis.', 20),
  volatility_max: num('Largest annualised volatility (2.5 = 250%).', 2.5, { min: 0 }),
  cvar_max: num('Largest daily CVaR 95% loss as a positive fraction (omit to skip).', undefined, { min: 0 }),
});
export type TailRiskParams = Static<typeof PARAMS>;

export class TailRiskFilter implements Filter<TailRiskParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'tail_risk',
    description: 'Tail vetoes: excess kurtosis, annualised volatility or CVaR beyond their limits.',
    params: PARAMS,
  };

  readonly hard = true;

  evaluate(features: FeatureTable, p: TailRiskParams): FilterVerdicts {
    const kurtosis = featureColumn(features, 'kurtosis');
    const volatility = featureColumn(features, 'volatility');
    const cvarMax = p.cvar_max;
    const cvar = cvarMax !== undefined ? featureColumn(features, 'cvar_95') : undefined;
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      const checks: FilterCheck[] = [ceiling('kurtosis', kurtosis[i]!, p.kurtosis_max), ceiling('volatility', volatility[i]!, p.volatility_max)];
      if (cvar && cvarMax !== undefined) checks.push(ceiling('cvar_95_loss', -cvar[i]!, cvarMax));
      out[s] = checks;
    });
    return out;
  }

  /** Hard: tail limits are never relaxed. */
  relax(p: TailRiskParams): TailRiskParams {
    return { ...p };
  }
}
