/** A seeded synthetic market (sectors, regimes, fat tails, gaps, a toxic spike, a stablecoin, spot and perp venues). */
import { plannedError } from '../../../src/core/planned.js';
import { int, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class SyntheticScanner {
  static readonly meta: PluginMeta = {
    kind: 'scanner',
    name: 'synthetic',
    description: 'A seeded synthetic market (sectors, regimes, fat tails, gaps, a toxic spike, a stablecoin, spot and perp venues).',
    params: params({
      symbols: int('Number of symbols.', 60, { min: 2 }),
      days: int('Number of days.', 750, { min: 10 }),
      seed: int('Random seed; the same seed gives the same market.', 42),
    }),
    planned: 'the synthetic market lands with the lakehouse sources (issue 3) and the funnel (issue 4).',
  };

  run(): never {
    throw plannedError(SyntheticScanner.meta);
  }
}
