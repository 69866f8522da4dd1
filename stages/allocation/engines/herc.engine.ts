/**
 * Hierarchical equal risk contribution (Raffinot): the dendrogram's own branches are split top-down in inverse
 * proportion to each side's risk, the variance or the CVaR 95% of the side's inverse-variance portfolio (its
 * historical daily returns; a loss, as a positive number).
 */
import { runError } from '../../../src/core/errors.js';
import { oneOfStr, params, type Static } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { hercWeights, hrpDistance, linkage } from '../../../src/math/hrp.js';
import { requireLongOnly, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';
import { conditionalValueAtRisk } from '../../../src/math/features.js';

const PARAMS = params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'ward'), risk_measure: oneOfStr(['variance', 'cvar'] as const, 'Risk measure of a cluster.', 'variance') });
export type HercParams = Static<typeof PARAMS>;

export class HercEngine implements AllocationEngine<HercParams> {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'herc',
    needs: 'covariance',
    honours: ['groups'],
    longOnly: true,
    description: 'Hierarchical equal risk contribution.',
    params: PARAMS,
  };

  run(p: AllocationProblem, params: HercParams): EngineResult {
    requireLongOnly(p, 'herc');
    const method = params.linkage ?? 'ward';
    const measure = params.risk_measure ?? 'variance';
    if (p.n === 1) return { weights: Float64Array.of(p.budget) };
    const Z = linkage(hrpDistance(p.corr, p.n), p.n, method);
    let risk: ((m: number[]) => number) | undefined;
    if (measure === 'cvar') {
      if (!p.returns) throw runError('HERC_NO_RETURNS', 'herc with risk_measure cvar needs the daily returns');
      risk = clusterCvar(p.cov, p.n, p.returns);
    }
    return { weights: hercWeights(p.cov, p.n, Z, { lb: p.lb, ub: p.ub, groups: p.groups, budget: p.budget, risk }), diagnostics: { linkage: method, risk_measure: measure } };
  }
}

/** CVaR 95% (as a positive loss) of a cluster's inverse-variance portfolio over the history (missing days flat). */
export function clusterCvar(cov: Float64Array, n: number, r: { values: Float64Array; days: number }): (members: number[]) => number {
  return (members) => {
    const iv = members.map((i) => 1 / cov[i * n + i]!);
    const total = iv.reduce((a, b) => a + b, 0);
    const series = new Float64Array(r.days);
    members.forEach((i, k) => {
      const w = iv[k] / total;
      for (let t = 0; t < r.days; t++) {
        const x = r.values[i * r.days + t]!;
        if (Number.isFinite(x)) series[t] += w * x;
      }
    });
    return Math.max(1e-12, -conditionalValueAtRisk(series, 0.95));
  };
}
