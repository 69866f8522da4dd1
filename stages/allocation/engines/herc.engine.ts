/** Hierarchical equal risk contribution. */
import { plannedError } from '../../../src/core/planned.js';
import { oneOfStr, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class HercEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'herc',
    description: 'Hierarchical equal risk contribution.',
    params: params({ linkage: oneOfStr(['single', 'ward', 'average', 'complete'] as const, 'Linkage of the dendrogram.', 'ward'), risk_measure: oneOfStr(['variance', 'cvar'] as const, 'Risk measure of a cluster.', 'variance') }),
    planned: 'the herc engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(HercEngine.meta);
  }
}
