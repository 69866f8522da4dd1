/** Lopez de Prado's hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection. */
import { oneOfStr, params, type Static } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { hrpDistance, hrpWeights, linkage, quasiDiagonalOrder } from '../../../src/math/hrp.js';
import { requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

const PARAMS = params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'single') });
export type HrpParams = Static<typeof PARAMS>;

export class HrpEngine implements AllocationEngine<HrpParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'hrp',
    needs: 'covariance',
    honours: ['groups'],
    longOnly: true,
    volatilityBand: 0.45,
    description: 'Lopez de Prado\'s hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection.',
    params: PARAMS,
  };

  run(p: AllocationProblem, params: HrpParams): EngineResult {
    requireLongOnly(p, 'hrp');
    const method = params.linkage ?? 'single';
    const order = p.n > 1 ? quasiDiagonalOrder(linkage(hrpDistance(p.corr, p.n), p.n, method)) : [0];
    const weights = hrpWeights(p.cov, p.n, order, { lb: p.lb, ub: p.ub, groups: p.groups, budget: p.budget });
    return { weights, diagnostics: { linkage: method, order: order.map((i) => p.symbols[i]) } };
  }
}
