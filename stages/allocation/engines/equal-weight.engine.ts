/** Equal weights within bounds and caps. */
import { params } from '../../../src/core/params.js';
import type { EngineMeta } from '../../../src/core/plugin.js';
import { feasibleOrProjected, type AllocationEngine, type AllocationProblem, type EngineResult } from '../../../src/portfolio/engine.js';

export class EqualWeightEngine implements AllocationEngine {
  static readonly meta: EngineMeta = {
    kind: 'engine',
    name: 'equal_weight',
    needs: 'nothing',
    honours: ['groups', 'linear'],
    longOnly: false,
    volatilityBand: 0.6,
    description: 'Equal weights within bounds and caps.',
    params: params({}),
  };

  run(p: AllocationProblem): EngineResult {
    return feasibleOrProjected(p, new Float64Array(p.n).fill(p.budget / p.n));
  }
}
