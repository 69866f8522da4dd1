/**
 * Ingestion: a scanner discovers the raw pool (symbols with discovery metadata), then aligned daily returns are
 * loaded for `lookback_days` up to the as-of date, never a day after it.
 */
import { plannedError } from '../../src/core/planned.js';
import { date, int, params, path, pluginRef } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class IngestionStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'ingestion',
    description: 'Discovers the candidate pool with a scanner and loads aligned daily returns up to the as-of date.',
    documents: ['selection'],
    requires: [],
    provides: ['raw_pool', 'returns'],
    params: params({
      scanner: pluginRef('scanner', 'Where candidates come from.', 'lakehouse'),
      lookback_days: int('Days of history to load up to the as-of date; omit for all history.', undefined, { min: 2 }),
      as_of: date('Decision date (YYYY-MM-DD); defaults to the last date in the data. No later day is read.'),
      candidates_path: path('A JSON list of candidates ({symbol, ...}) to use instead of discovery (the seed format).', 'file'),
    }),
    planned: 'loading returns from the lakehouse lands with the lakehouse (issue 3) and the funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(IngestionStage.meta);
  }
}
