/** Lowest volatility at a target expected return. */
import { runError } from '../../../src/core/errors.js';
import { num, params, type Static } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { QPInfeasibleError, solveQP } from '../../../src/math/qp.js';
import { qpConstraints, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

const PARAMS = params({ target_return: { ...num('Annualised expected return target.'), examples: [0.1] } }, { required: ['target_return'] });
export type EfficientReturnParams = Static<typeof PARAMS>;

export class EfficientReturnEngine implements AllocationEngine<EfficientReturnParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'efficient_return',
    needs: 'covariance',
    honours: ['groups', 'linear'],
    longOnly: false,
    description: 'Lowest volatility at a target expected return.',
    params: PARAMS,
  };

  run(p: AllocationProblem, params: EfficientReturnParams): EngineResult {
    const target = params.target_return;
    const c = qpConstraints(p);
    const row = new Float64Array(p.n);
    for (let i = 0; i < p.n; i++) row[i] = -p.mu[i]!;
    c.ineq!.A.push(row);
    c.ineq!.b.push(-target);
    try {
      const r = solveQP({ n: p.n, Q: p.cov, ...c });
      return { weights: r.x, diagnostics: { target_return: target, qp_iterations: r.iterations } };
    } catch (e) {
      if (e instanceof QPInfeasibleError) throw runError('TARGET_RETURN_INFEASIBLE', `efficient_return: no portfolio within the constraints reaches an expected return of ${target}`);
      throw e;
    }
  }
}
