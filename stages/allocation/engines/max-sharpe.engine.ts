/**
 * Maximum-Sharpe (tangency) portfolio, solved exactly as one QP by the Cornuejols-Tutuncu change of variables
 * (as PyPortfolioOpt does): y = k w / budget with k > 0 free, minimise y'Cy subject to (mu - rf)'y = 1; every
 * constraint a'w <= b becomes budget a'y - b sum(y) <= 0, bounds likewise; then w = budget y / sum(y).
 */
import { runError } from '../../../src/core/errors.js';
import { params } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { solveQP } from '../../../src/math/qp.js';
import type { AllocationEngine, AllocationProblem, EngineResult } from '../../../src/portfolio/engine.js';

export class MaxSharpeEngine implements AllocationEngine {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'max_sharpe',
    needs: 'covariance',
    honours: ['groups', 'linear'],
    longOnly: false,
    volatilityBand: 0.9,
    description: 'Maximum-Sharpe (tangency) portfolio.',
    params: params({}),
  };

  run(p: AllocationProblem): EngineResult {
    const { n, budget } = p;
    if (!(budget > 0)) throw runError('MAX_SHARPE_BUDGET', `max_sharpe needs a positive budget, got ${budget}`);
    const excess = new Float64Array(n);
    let best = -Infinity;
    for (let i = 0; i < n; i++) { excess[i] = p.mu[i]! - p.riskFreeRate; best = Math.max(best, excess[i]!); }
    if (!(best > 0)) throw runError('MAX_SHARPE_NO_EXCESS_RETURN', `max_sharpe needs an asset whose expected return exceeds the risk-free rate ${p.riskFreeRate}; the best is ${best + p.riskFreeRate}`);
    const A: Float64Array[] = [];
    const b: number[] = [];
    const lb = new Float64Array(n).fill(-Infinity);
    const ub = new Float64Array(n).fill(Infinity);
    const homogeneous = (a: (i: number) => number, rhs: number) => {
      const row = new Float64Array(n);
      for (let i = 0; i < n; i++) row[i] = budget * a(i) - rhs;
      A.push(row);
      b.push(0);
    };
    // An upper bound at or above the budget binds only when some asset can go short: then it is a real row.
    const anyShort = Array.from(p.lb).some((x) => x < 0);
    for (let i = 0; i < n; i++) {
      if (p.lb[i] === 0) lb[i] = 0;
      else if (Number.isFinite(p.lb[i]!)) homogeneous((j) => (j === i ? -1 : 0), -p.lb[i]!);
      if (Number.isFinite(p.ub[i]!) && (p.ub[i]! < budget || anyShort)) homogeneous((j) => (j === i ? 1 : 0), p.ub[i]!);
    }
    for (const g of p.groups) {
      const set = new Set(g.members);
      homogeneous((j) => (set.has(j) ? 1 : 0), g.cap * budget);
    }
    for (const l of p.linear) homogeneous((j) => l.a[j]!, l.b);
    const r = solveQP({ n, Q: p.cov, eq: { A: [excess], b: [1] }, ineq: { A, b }, lb, ub });
    let k = 0;
    for (let i = 0; i < n; i++) k += r.x[i]!;
    if (!(k > 0)) throw runError('MAX_SHARPE_DEGENERATE', 'max_sharpe: the tangency problem has no portfolio with a positive scale');
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = (budget * r.x[i]!) / k;
    return { weights: w, diagnostics: { qp_iterations: r.iterations } };
  }
}
