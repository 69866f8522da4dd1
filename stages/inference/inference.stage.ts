/**
 * Inference: the champion ranker scores every symbol; challengers are scored and recorded beside it.
 * `weights` is the seed's shorthand for the champion's `weights` param.
 */
import { plannedError } from '../../src/core/planned.js';
import { params, pluginRef, pluginRefList } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class InferenceStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'inference',
    description: 'Scores symbols with a champion ranker (and challengers, recorded beside it).',
    documents: ['selection'],
    requires: ['features'],
    provides: ['scores'],
    shorthands: { weights: ['rankers', 'ranker'] },
    exclusive: [['ranker', 'rankers']],
    params: params({
      ranker: pluginRef('ranker', 'The champion ranker (used when `rankers` is not given).', 'mps'),
      rankers: { ...pluginRefList('ranker', 'Champion first, then challengers scored and recorded beside it.'), minItems: 1 },
    }),
    planned: 'the rankers land with the selection funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(InferenceStage.meta);
  }
}
