/** CARS: weighted additive rank-sum across factors. */
import { plannedError } from '../../../src/core/planned.js';
import { numberMap, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class CarsRanker {
  static readonly meta: PluginMeta = {
    kind: 'ranker',
    name: 'cars',
    description: 'CARS: weighted additive rank-sum across factors.',
    params: params({
      weights: numberMap('Weight of each factor (feature name to weight).'),
      directions: { type: 'object', additionalProperties: { type: 'integer', enum: [-1, 1] }, description: 'Sign of each factor.' },
    }),
    planned: 'the CARS ranker lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(CarsRanker.meta);
  }
}
