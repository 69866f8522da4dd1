/** Weights proportional to 1/volatility. */
import { params } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { feasibleOrProjected, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

export class InverseVolEngine implements AllocationEngine {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'inverse_vol',
    needs: 'variances',
    honours: ['groups', 'linear'],
    longOnly: false,
    description: 'Weights proportional to 1/volatility.',
    params: params({}),
  };

  run(p: AllocationProblem): EngineResult {
    const w = new Float64Array(p.n);
    let s = 0;
    for (let i = 0; i < p.n; i++) { w[i] = 1 / Math.sqrt(p.cov[i * p.n + i]!); s += w[i]!; }
    for (let i = 0; i < p.n; i++) w[i] = (w[i]! / s) * p.budget;
    return feasibleOrProjected(p, w);
  }
}
