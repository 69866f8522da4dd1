/** Minimum-variance portfolio (dense QP). */
import { params } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { solveQP } from '../../../src/math/qp.js';
import { qpConstraints, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

export class MinVarianceEngine implements AllocationEngine {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'min_variance',
    needs: 'covariance',
    honours: ['groups', 'linear'],
    longOnly: false,
    volatilityBand: 0.35,
    description: 'Minimum-variance portfolio (dense QP).',
    params: params({}),
  };

  run(p: AllocationProblem): EngineResult {
    const r = solveQP({ n: p.n, Q: p.cov, ...qpConstraints(p) });
    return { weights: r.x, diagnostics: { qp_iterations: r.iterations } };
  }
}
