/** Equal risk contribution, with optional risk budgets (Newton on Spinu's convex form, see src/math/risk-parity.ts). */
import { runError } from '../../../src/core/errors.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { riskParity } from '../../../src/math/risk-parity.js';
import { feasibleOrProjected, requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../engine.js';

export class RiskParityEngine implements AllocationEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'risk_parity',
    description: 'Equal risk contribution, with optional risk budgets.',
    params: params({ budgets: { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 }, description: 'Risk budget per symbol (> 0; normalised); equal when omitted.' } }),
  };

  run(p: AllocationProblem, params: Record<string, unknown>): EngineResult {
    requireLongOnly(p, 'risk_parity');
    const given = params.budgets as Record<string, number> | undefined;
    let budgets: Float64Array | undefined;
    if (given) {
      const unknown = Object.keys(given).filter((s) => !p.symbols.includes(s));
      if (unknown.length) throw runError('UNKNOWN_SYMBOL', `risk_parity budgets name symbols not in the universe: ${unknown.join(', ')}`);
      budgets = Float64Array.from(p.symbols, (s) => given[s] ?? 1);
    }
    const r = riskParity(p.cov, p.n, budgets);
    const w = r.weights.map((x) => x * p.budget);
    const out = feasibleOrProjected(p, w);
    return { weights: out.weights, diagnostics: { ...out.diagnostics, newton_steps: r.newtonSteps, sweeps: r.sweeps, budget_error: r.error } };
  }
}
