/** Equal risk contribution, with optional risk budgets (Newton on Spinu's convex form, see src/math/risk-parity.ts). */
import { inputError, type FractalError } from '../../../src/core/errors.js';
import { ownMap } from '../../../src/util/keyed.js';
import { params, typed, type Static } from '../../../src/core/params.js';
import type { EngineMeta, Universe } from '../../../src/core/plugin.js';
import { riskParity } from '../../../src/math/risk-parity.js';
import { feasibleOrProjected, requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

const PARAMS = params({ budgets: typed<Record<string, number> | undefined>({ type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 }, description: 'Risk budget per asset (> 0), keyed by symbol or by atom id (an atom id wins over its symbol); an asset not named gets 1, and the budgets are normalised over the assets present. A name absent from the universe at a decision (not a winner then, delisted) is left out and recorded (budgets_renormalised), not an error. Equal when omitted.' }) });
export type RiskParityParams = Static<typeof PARAMS>;

export class RiskParityEngine implements AllocationEngine<RiskParityParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'risk_parity',
    needs: 'covariance',
    honours: ['groups', 'linear'],
    longOnly: true,
    description: 'Equal risk contribution, with optional risk budgets.',
    params: PARAMS,
  };

  preflight(params: RiskParityParams, universe: Universe): FractalError[] {
    const names = new Set(universe.symbols.map((s) => s.symbol));
    // A budget may name a symbol, or one of its atoms (<symbol>_<logic>_<direction>).
    const known = (s: string) => names.has(s) || universe.symbols.some((x) => s.startsWith(`${x.symbol}_`));
    const unknown = [...ownMap(params.budgets).keys()].filter((s) => !known(s));
    return unknown.length ? [inputError('UNKNOWN_SYMBOL', `risk_parity budgets name symbols that are not on venue ${universe.venue}: ${unknown.join(', ')}`, undefined, { param: ['budgets', unknown[0]], paramKey: true })] : [];
  }

  run(p: AllocationProblem, params: RiskParityParams): EngineResult {
    requireLongOnly(p, 'risk_parity');
    const given = params.budgets ? new Map(Object.entries(params.budgets)) : undefined;
    let budgets: Float64Array | undefined;
    const adjustments: EngineResult['adjustments'] = [];
    if (given) {
      const physical = p.physical ?? p.symbols;
      budgets = Float64Array.from(p.symbols, (s, i) => given.get(s) ?? given.get(physical[i]!) ?? 1);
      // A budgeted name not in this decision's universe: the present ones are renormalised (riskParity normalises
      // over the assets it gets), and the absence is recorded rather than failing a past rebalance.
      const present = new Set([...p.symbols, ...physical]);
      const absent = [...given.keys()].filter((k) => !present.has(k)).sort();
      if (absent.length) {
        const total = budgets.reduce((a, b) => a + b, 0);
        adjustments.push({ kind: 'budgets_renormalised', absent, budgets: Object.fromEntries(p.symbols.map((s, i) => [s, budgets![i]! / total])) });
      }
    }
    const r = riskParity(p.cov, p.n, budgets);
    const w = r.weights.map((x) => x * p.budget);
    const out = feasibleOrProjected(p, w);
    return { weights: out.weights, diagnostics: { ...out.diagnostics, newton_steps: r.newtonSteps, sweeps: r.sweeps, budget_error: r.error }, ...(adjustments.length ? { adjustments } : {}) };
  }
}
