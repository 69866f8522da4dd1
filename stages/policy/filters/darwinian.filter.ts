/** Health vetoes: too much missing data, too little volume, too short a history. */
import { plannedError } from '../../../src/core/planned.js';
import { fraction, int, num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class DarwinianFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'darwinian',
    description: 'Health vetoes: too much missing data, too little volume, too short a history.',
    params: params({
      max_missing_pct: fraction('Largest missing fraction of the window (0.1 = 10%).', 0.1),
      min_volume: num('Smallest average daily dollar volume.', 0, { min: 0 }),
      min_history_days: int('Fewest days of history.', 60, { min: 0 }),
    }),
    planned: 'the darwinian filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(DarwinianFilter.meta);
  }
}
