/** Lopez de Prado's hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection. */
import { oneOfStr, params } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { hrpDistance, hrpWeights, linkage, quasiDiagonalOrder, type LinkageMethod } from '../../../src/math/hrp.js';
import { requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

export class HrpEngine implements AllocationEngine {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'hrp',
    needs: 'covariance',
    honours: ['groups'],
    longOnly: true,
    volatilityBand: 0.45,
    description: 'Lopez de Prado\'s hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection.',
    params: params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'single') }),
  };

  run(p: AllocationProblem, params: Record<string, unknown>): EngineResult {
    requireLongOnly(p, 'hrp');
    const method = (params.linkage as LinkageMethod | undefined) ?? 'single';
    const order = p.n > 1 ? quasiDiagonalOrder(linkage(hrpDistance(p.corr, p.n), p.n, method)) : [0];
    const weights = hrpWeights(p.cov, p.n, order, { lb: p.lb, ub: p.ub, groups: p.groups, budget: p.budget });
    return { weights, diagnostics: { linkage: method, order: order.map((i) => p.symbols[i]) } };
  }
}
