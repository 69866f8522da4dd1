/** Hierarchical equal risk contribution. */
import { runError } from '../../../src/core/errors.js';
import { oneOfStr, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { hercWeights, hrpDistance, linkage, type LinkageMethod } from '../../../src/math/hrp.js';
import { requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../engine.js';

export class HercEngine implements AllocationEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'herc',
    description: 'Hierarchical equal risk contribution.',
    params: params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'ward'), risk_measure: oneOfStr(['variance', 'cvar'] as const, 'Risk measure of a cluster.', 'variance') }),
  };

  run(p: AllocationProblem, params: Record<string, unknown>): EngineResult {
    requireLongOnly(p, 'herc');
    if (params.risk_measure === 'cvar') throw runError('HERC_CVAR_NOT_IMPLEMENTED', "herc's cvar risk measure is not implemented yet; use risk_measure: variance");
    const method = (params.linkage as LinkageMethod | undefined) ?? 'ward';
    if (p.n === 1) return { weights: Float64Array.of(p.budget) };
    const Z = linkage(hrpDistance(p.corr, p.n), p.n, method);
    return { weights: hercWeights(p.cov, p.n, Z, { lb: p.lb, ub: p.ub, groups: p.groups, budget: p.budget }), diagnostics: { linkage: method, risk_measure: 'variance' } };
  }
}
