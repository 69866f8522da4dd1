/**
 * Highest expected return at a target volatility: the frontier w(t) = argmin 1/2 w'Cw - t mu'w (a QP) has volatility
 * increasing in t, so t is found by bisection until the volatility equals the target (to 1e-10 relative), or the
 * largest-return portfolio is returned when it is below the target.
 */
import { runError } from '../../../src/core/errors.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { solveQP } from '../../../src/math/qp.js';
import { portfolioVariance, qpConstraints, type AllocationEngine, type AllocationProblem, type EngineResult } from '../engine.js';

export class EfficientRiskEngine implements AllocationEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'efficient_risk',
    description: 'Highest expected return at a target volatility.',
    params: params({ target_volatility: num('Annualised volatility target.', undefined, { exclusiveMin: 0 }) }, { required: ['target_volatility'] }),
  };

  run(p: AllocationProblem, params: Record<string, unknown>): EngineResult {
    const target = params.target_volatility as number;
    const c = qpConstraints(p);
    const solve = (t: number) => {
      const lin = new Float64Array(p.n);
      for (let i = 0; i < p.n; i++) lin[i] = -t * p.mu[i]!;
      const x = solveQP({ n: p.n, Q: p.cov, c: lin, ...c }).x;
      return { x, vol: Math.sqrt(Math.max(0, portfolioVariance(p.cov, p.n, x))) };
    };
    const low = solve(0);
    if (low.vol > target * (1 + 1e-10)) throw runError('TARGET_VOLATILITY_INFEASIBLE', `efficient_risk: the minimum volatility within the constraints is ${low.vol.toFixed(6)}, above the target ${target}`);
    let hi = 1;
    let high = solve(hi);
    for (let k = 0; k < 60 && high.vol < target; k++) { hi *= 2; const next = solve(hi); if (Math.abs(next.vol - high.vol) < 1e-14) { high = next; break; } high = next; }
    if (high.vol <= target) return { weights: high.x, diagnostics: { target_volatility: target, reached: high.vol } };
    let lo = 0;
    let best = low;
    for (let k = 0; k < 200 && hi - lo > 1e-14 * hi; k++) {
      const mid = (lo + hi) / 2;
      const s = solve(mid);
      if (s.vol <= target) { lo = mid; best = s; } else hi = mid;
      if (Math.abs(s.vol - target) <= 1e-10 * target) { best = s.vol <= target ? s : best; if (s.vol <= target) break; }
    }
    return { weights: best.x, diagnostics: { target_volatility: target, reached: best.vol } };
  }
}
