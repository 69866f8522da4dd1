/** Candidates and prices from CSV: a wide file of closes, or a folder of per-symbol OHLCV files. */
import { plannedError } from '../../../src/core/planned.js';
import { oneOfStr, params, path, str } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class CsvScanner {
  static readonly meta: PluginMeta = {
    kind: 'scanner',
    name: 'csv',
    description: 'Candidates and prices from CSV: a wide file of closes, or a folder of per-symbol OHLCV files.',
    params: params({
      path: path('A wide CSV (date + one column per symbol) or a folder of per-symbol OHLCV CSVs.'),
      layout: oneOfStr(['wide', 'ohlcv'] as const, 'File layout; guessed from the path when omitted.'),
      venue: str('Venue name recorded for these symbols.', 'csv'),
      asset_type: oneOfStr(['spot', 'perp', 'equity', 'etf'] as const, 'Asset type of these symbols.', 'equity'),
    }, { required: ['path'] }),
    planned: 'the CSV scanner lands with the lakehouse sources (issue 3) and the funnel (issue 4).',
  };

  run(): never {
    throw plannedError(CsvScanner.meta);
  }
}
