/**
 * Policy: a chain of veto filters, then top_n per cluster by champion conviction, a sector cap, and the HTR
 * relaxation loop (strict → relaxed → representative forcing → balanced fallback) until min_winners.
 */
import { plannedError } from '../../src/core/planned.js';
import { bool, fraction, int, params, pluginRefList } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class PolicyStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'policy',
    description: 'Vetoes by a filter chain, picks top_n per cluster by conviction, caps sectors, relaxes (HTR) until min_winners.',
    documents: ['selection'],
    requires: ['features', 'scores'],
    provides: ['winners', 'vetoes'],
    params: params({
      filters: pluginRefList('filter', 'Veto filters, applied in order.', ['darwinian', 'spectral', 'friction', 'tail_risk', 'roc']),
      top_n: int('Winners per cluster, by champion conviction.', 2, { min: 1 }),
      sector_cap: fraction('Largest share of winners from one sector.', 0.4),
      min_winners: int('The HTR loop relaxes until at least this many winners.', 15, { min: 0 }),
      relaxation: bool('Run the HTR relaxation loop (stages 2-4) when stage 1 gives too few winners.', true),
      entropy_hardening: bool('Tighten entropy_max by 10% when the mean entropy of the pool exceeds 0.95.', true),
    }),
    planned: 'the filters and the HTR loop land with the selection funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(PolicyStage.meta);
  }
}
