/**
 * Synthesis: winners become strategy atoms `Asset_Logic_Direction`; a SHORT atom's return is -r clipped at -100%
 * (bankruptcy guard); daily moves above the toxic threshold are dropped.
 */
import { plannedError } from '../../src/core/planned.js';
import { num, params, str } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class SynthesisStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'synthesis',
    description: 'Turns winners into strategy atoms (Asset_Logic_Direction) with guarded return streams.',
    documents: ['selection'],
    requires: ['winners', 'returns'],
    provides: ['atoms'],
    params: params({
      direction: { type: 'string', enum: ['LONG', 'SHORT', 'BOTH'], default: 'LONG', description: 'Direction of the atoms.' },
      logic: str('Logic name in the atom id; the scanner or strategy name by default.'),
      toxic_threshold: num('Daily returns above this (5 = +500%) are dropped as toxic.', 5, { exclusiveMin: 0 }),
    }),
    planned: 'strategy atoms land with the selection funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(SynthesisStage.meta);
  }
}
