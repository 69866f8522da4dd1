/** Candidates from the lakehouse symbols table: venue and asset-type filters, liquidity floors, exclusions, dedup by identity. */
import { plannedError } from '../../../src/core/planned.js';
import { bool, int, num, oneOfStr, params, str, strList } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class LakehouseScanner {
  static readonly meta: PluginMeta = {
    kind: 'scanner',
    name: 'lakehouse',
    description: 'Candidates from the lakehouse symbols table: venue and asset-type filters, liquidity floors, exclusions, dedup by identity.',
    params: params({
      venue: str('Only this venue (e.g. binance_spot); all venues when omitted.'),
      asset_types: { type: 'array', items: { type: 'string', enum: ['spot', 'perp', 'equity', 'etf'] }, uniqueItems: true, description: 'Asset types to keep; all when omitted.' },
      min_volume_spot: num('24h quote-volume floor for spot, USD.', 20_000_000, { min: 0 }),
      min_volume_perp: num('24h quote-volume floor for perpetuals, USD.', 50_000_000, { min: 0 }),
      exclude: strList('Regular expressions of symbols to drop.', []),
      exclude_stablecoins: bool('Drop stablecoins.', true),
      exclude_gold_tokens: bool('Drop gold-pegged tokens.', true),
      limit: int('Keep at most this many candidates after sorting.', 100, { min: 1 }),
      sort_by: oneOfStr(['volume_24h', 'market_cap_rank'] as const, 'Sort order before the limit.', 'volume_24h'),
    }),
    planned: 'the lakehouse scanner lands with the lakehouse sources (issue 3) and the funnel (issue 4).',
  };

  run(): never {
    throw plannedError(LakehouseScanner.meta);
  }
}
