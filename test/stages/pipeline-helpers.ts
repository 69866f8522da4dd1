/**
 * What the user-side stage tests share: a lakehouse of the Binance closes in ../shared/data/crypto, running a
 * pipeline file through validation and the runner, and reading a run's artifacts back.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR } from '../data.js';
import { seededRandom } from '../math/helpers.js';

/** A lakehouse at `dir` filled with the crypto closes (venue binance_spot, spot). */
export async function cryptoLakehouse(dir: string, source = join(DATA_DIR, 'crypto')): Promise<string> {
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(source, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  return dir;
}

/** A copy of the crypto CSVs in `dir` with every row after `cut` (YYYY-MM-DD) left out: the data as it was then. */
export function cryptoCsvCut(dir: string, cut: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((n) => n.endsWith('.csv'))) {
    const [header, ...rows] = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split('\n');
    writeFileSync(join(dir, f), [header, ...rows.filter((r) => r.slice(0, 10) <= cut)].join('\n') + '\n');
  }
  return dir;
}

/** The six spot symbols of spotMarket, and its first day. */
export const SPOT_SYMBOLS = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT', 'DDDUSDT', 'EEEUSDT', 'FFFUSDT'];
const SPOT_DAY0 = Date.UTC(2023, 0, 1);
/** The date of day t of spotMarket (0-based). */
export const spotDay = (t: number) => new Date(SPOT_DAY0 + t * 86_400_000).toISOString().slice(0, 10);

/**
 * A seeded spot market of SPOT_SYMBOLS from 2023-01-01 as one OHLCV CSV per symbol in `dir`: `total` days of which
 * the first `days` are written, daily moves of ±1.5% with a drift per symbol, and a quote volume around
 * `quote(t)` US dollars on day t (what the lakehouse scanner's liquidity floor judges).
 */
export function spotMarket(dir: string, o: { seed: number; total: number; days?: number; quote: (t: number) => number }): void {
  mkdirSync(dir, { recursive: true });
  const u = seededRandom(o.seed);
  for (const [j, symbol] of SPOT_SYMBOLS.entries()) {
    let close = 50 + 20 * j;
    const rows = ['date,open,high,low,close,volume'];
    for (let t = 0; t < o.total; t++) {
      const open = close;
      close = open * (1 + 0.03 * (u() - 0.5) + 0.001 * (j - 2.5));
      const quote = o.quote(t) * (0.8 + 0.4 * u());
      if (t < (o.days ?? o.total)) rows.push(`${spotDay(t)},${open.toFixed(6)},${(Math.max(open, close) * 1.01).toFixed(6)},${(Math.min(open, close) * 0.99).toFixed(6)},${close.toFixed(6)},${(quote / close).toFixed(4)}`);
    }
    writeFileSync(join(dir, `${symbol}.csv`), `${rows.join('\n')}\n`);
  }
}

/** A selection pipeline on the lakehouse scanner (its $20M spot floor), deciding every 20 days on 60: spotMarket's. */
export const floorPipeline = (name: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: lakehouse, lookback_days: 60 }
  - type: feature_engineering
    params: { lookback: 30 }
  - type: inference
    params: { rankers: [mps] }
  - type: policy
    params: { filters: [], min_winners: 2 }
  - type: synthesis
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 60, test_window: 20, step_size: 20 }
  - type: report
`;

/** Writes `yaml` as <tmp>/<name>.yaml, expects it to validate without errors, and runs it into <tmp>/runs. */
export async function runYaml(tmp: string, name: string, yaml: string, lakehouse = join(tmp, 'none'), outRoot = join(tmp, 'runs')) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot, lakehousePath: lakehouse });
}

export const readJson = (folder: string, file: string) => JSON.parse(readFileSync(join(folder, file), 'utf8'));

export const auditEvents = (folder: string): { stage: string | null; event: string; data: any }[] =>
  readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
