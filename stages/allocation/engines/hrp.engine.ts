/** Lopez de Prado's hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection. */
import { plannedError } from '../../../src/core/planned.js';
import { oneOfStr, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class HrpEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'hrp',
    description: 'Lopez de Prado\'s hierarchical risk parity: quasi-diagonal order from the dendrogram, recursive bisection with inverse-variance cluster variance; caps enforced inside the bisection.',
    params: params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'single') }),
    planned: 'the hrp engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(HrpEngine.meta);
  }
}
