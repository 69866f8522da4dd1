/**
 * Clustering: Ward linkage on the correlation distance sqrt(0.5(1-rho)), correlations averaged over several
 * lookbacks, cut at `threshold`, or at exactly `max_clusters` when the threshold gives more.
 */
import { plannedError } from '../../src/core/planned.js';
import { int, num, params } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class ClusteringStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'clustering',
    description: 'Partitions symbols by Ward linkage on correlation distance, averaged over several lookbacks.',
    documents: ['selection'],
    requires: ['returns'],
    provides: ['clusters'],
    params: params({
      threshold: num('Distance at which the dendrogram is cut.', 0.7, { exclusiveMin: 0 }),
      max_clusters: int('At most this many clusters (the cut that gives exactly this many when the threshold gives more).', 25, { min: 1 }),
      lookbacks: {
        description: "Trailing windows (days) whose correlations are averaged: a list, one value, or 'all'.",
        default: [20, 60, 120],
        anyOf: [
          { type: 'integer', minimum: 2 },
          { const: 'all' },
          { type: 'array', minItems: 1, items: { anyOf: [{ type: 'integer', minimum: 2 }, { const: 'all' }] } },
        ],
      },
      linkage: { type: 'string', enum: ['ward'], default: 'ward', description: 'Linkage method (Ward, equal to scipy).' },
    }),
    planned: 'nearest-neighbour-chain Ward lands with the selection funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(ClusteringStage.meta);
  }
}
