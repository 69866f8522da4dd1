/** Rate-of-change vetoes: moves over the window above roc_max or below roc_min. */
import { plannedError } from '../../../src/core/planned.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class RocFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'roc',
    description: 'Rate-of-change vetoes: moves over the window above roc_max or below roc_min.',
    params: params({
      roc_max: num('Largest rate of change over the window (1 = +100%).', 1),
      roc_min: num('Smallest rate of change over the window (-0.8 = -80%).', -0.8, { min: -1 }),
    }),
    planned: 'the ROC filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(RocFilter.meta);
  }
}
