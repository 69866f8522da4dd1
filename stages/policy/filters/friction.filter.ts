/** Execution-cost vetoes: the ECI (execution cost index) above its ceiling. */
import { plannedError } from '../../../src/core/planned.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class FrictionFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'friction',
    description: 'Execution-cost vetoes: the ECI (execution cost index) above its ceiling.',
    params: params({ eci_max: num('Largest execution cost index.', 0.02, { min: 0 }) }),
    planned: 'the friction filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(FrictionFilter.meta);
  }
}
