/** Log-MPS: each factor mapped to a probability by the normal CDF of its signed cross-sectional z-score; conviction is the weighted sum of log-probabilities. */
import { plannedError } from '../../../src/core/planned.js';
import { numberMap, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class MpsRanker {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'mps',
    description: 'Log-MPS: each factor mapped to a probability by the normal CDF of its signed cross-sectional z-score; conviction is the weighted sum of log-probabilities.',
    params: params({
      weights: numberMap('Weight of each factor (feature name to weight); the seed defaults when omitted.'),
      directions: { type: 'object', additionalProperties: { type: 'integer', enum: [-1, 1] }, description: 'Sign of each factor: 1 higher is better, -1 lower is better.' },
    }),
    planned: 'the MPS ranker lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(MpsRanker.meta);
  }
}
