/**
 * Candidates and prices from CSV: a wide file of closes (a date column, one column per symbol, empty before a
 * listing) or a folder of per-symbol OHLCV files. Every symbol in the file is a candidate; the data is staged
 * in a temporary lakehouse so it is validated and aligned like any other.
 */
import { resolve } from 'node:path';
import { FractalError } from '../../../src/core/errors.js';
import { oneOfStr, params, path, str, type Static } from '../../../src/core/params.js';
import type { ScannerMeta, StageEnv } from '../../../src/core/plugin.js';
import { type ScanEnv, type ScanResult, type Scanner } from '../scanner.js';
import { discoverAllIn } from './lakehouse.scanner.js';
import { stageTemporary } from './staged.js';

const PARAMS = params(
  {
    path: { ...path('A wide CSV (date + one column per symbol) or a folder of per-symbol OHLCV CSVs, relative to the pipeline file.'), examples: ['prices.csv'] },
    layout: oneOfStr(['wide', 'ohlcv'] as const, 'File layout; a folder is ohlcv, a file is wide, when omitted.'),
    venue: str('Venue name recorded for these symbols.', 'csv'),
    asset_type: oneOfStr(['spot', 'perp', 'equity', 'etf'] as const, 'Asset type of these symbols; inferred from the calendar when omitted (weekend dates mean crypto spot).'),
  },
  { required: ['path'] },
);
export type CsvParams = Static<typeof PARAMS>;

export class CsvScanner implements Scanner<CsvParams> {
  static readonly meta: ScannerMeta = {
    kind: 'scanner',
    name: 'csv',
    live: false,
    pointInTime: true,
    cacheable: true,
    readsLakehouse: false,
    description: 'Candidates and prices from CSV: a wide file of closes, or a folder of per-symbol OHLCV files.',
    params: PARAMS,
  };

  /**
   * Every symbol of the file is a candidate; a past decision (a backtest's) rediscovers them as of its date like the
   * lakehouse scanner, with no floor: those with a bar fresh at that date, their liquidity (volume_24h, which the
   * darwinian and friction filters read when the dollar_volume feature is not computed) from the bars up to it, never
   * from the file's last bar.
   */
  async scan(p: CsvParams, env: StageEnv): Promise<ScanResult> {
    const file = resolve(env.baseDir, p.path);
    const { lakehouse, close } = await stage(file, p, env);
    return discoverAllIn(lakehouse, p.venue, close, p.path);
  }

  /** The identity of the staged data (its bytes and the params that shape it), staged the same way as a scan. */
  async dataIdentity(p: CsvParams, env: ScanEnv): Promise<string> {
    const { lakehouse, close } = await stage(resolve(env.baseDir, p.path), p, env);
    try {
      return lakehouse.dataIdentity();
    } finally {
      await close();
    }
  }
}

const stage = (file: string, p: CsvParams, env: ScanEnv) =>
  stageTemporary('csv', (lh) => lh.importCsv(file, { layout: p.layout, venue: p.venue, assetType: p.asset_type, progress: env.progress })).catch((err) => {
    // What the file holds is the input: its errors (file:line) are located at the `path` param too.
    throw err instanceof FractalError && err.exitCode === 2 ? err.atParam(['path']) : err;
  });
