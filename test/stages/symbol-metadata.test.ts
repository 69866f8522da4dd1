/**
 * Symbol metadata reaches the decisions (issue 17), from a user's side: a lakehouse of the Binance closes in
 * ../shared/data/crypto, a symbols file declared with `pipeline-run lakehouse symbols`, and pipelines whose
 * artifacts must show it: `sector_cap` caps the winners of a declared sector, `sort_by: market_cap_rank` keeps the
 * declared top ranks, the order-level simulator trades in the declared lots and refuses orders below the declared
 * minimum, and a cached sleeve is recomputed when the metadata changes (it is part of the data identity).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { readFileSync } from 'node:fs';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { cli } from '../cli/helpers.js';
import { DATA_DIR } from '../data.js';
import { auditEvents, cryptoLakehouse, readJson, runYaml } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-symmeta-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CRYPTO = readdirSync(join(DATA_DIR, 'crypto')).filter((f) => f.endsWith('.csv')).map((f) => f.replace(/\.csv$/, '')).sort();

function declare(lakehouse: string, name: string, text: string): void {
  const file = join(tmp, name);
  writeFileSync(file, text);
  const r = cli(['lakehouse', 'symbols', file, '--lakehouse', lakehouse]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

const selection = (name: string, scanner: string, policy: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: ${scanner} }, lookback_days: 365 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: mps }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25 }
  - type: policy
    params: ${policy}
`;

test('sector_cap caps the winners of a declared sector; without sectors nothing is capped', async () => {
  const lakehouse = await cryptoLakehouse(join(tmp, 'lh-sector'));
  const policy = '{ filters: [darwinian], top_n: 3, min_winners: 12, sector_cap: 0.25 }';
  const before = await runYaml(tmp, 'sector_before', selection('sector_before', '{ min_volume_spot: 0 }', policy), lakehouse);
  expect(before.outcome).toBe('succeeded');
  expect(auditEvents(before.folder).filter((e) => e.event === 'sector_cap')).toEqual([]);
  const winnersBefore: string[] = readJson(before.folder, 'winners.json').winners.map((w: { symbol: string }) => w.symbol);

  // Every symbol in one of two sectors, most of the winners of the uncapped run in the first.
  const heavy = new Set(winnersBefore.slice(0, Math.ceil(winnersBefore.length * 0.75)));
  declare(lakehouse, 'sectors.csv', ['symbol,sector', ...CRYPTO.map((s) => `${s},${heavy.has(s) ? 'layer1' : 'other'}`)].join('\n'));
  const after = await runYaml(tmp, 'sector_after', selection('sector_after', '{ min_volume_spot: 0 }', policy), lakehouse);
  expect(after.outcome).toBe('succeeded');
  const sectorOf = new Map(readJson(after.folder, 'candidates.json').candidates.map((c: { symbol: string; sector?: string }) => [c.symbol, c.sector]));
  expect(sectorOf.get(winnersBefore[0]!)).toBe('layer1');
  const winners: string[] = readJson(after.folder, 'winners.json').winners.map((w: { symbol: string }) => w.symbol);
  const inLayer1 = winners.filter((s) => sectorOf.get(s) === 'layer1').length;
  // The policy's rule: at most max(1, floor(0.25 × winners)) from one sector.
  expect(inLayer1).toBeLessThanOrEqual(Math.max(1, Math.floor(0.25 * winners.length)));
  expect(inLayer1).toBeLessThan(winnersBefore.filter((s) => heavy.has(s)).length);
  const capped = auditEvents(after.folder).filter((e) => e.event === 'sector_cap');
  expect(capped.length).toBeGreaterThan(0);
  expect(capped[0]!.data.pruned.every((p: { sector: string }) => p.sector === 'layer1')).toBe(true);
  expect(readJson(after.folder, 'manifest.json').data_hash).not.toBe(readJson(before.folder, 'manifest.json').data_hash);
});

test('sort_by: market_cap_rank keeps the declared top ranks', async () => {
  const lakehouse = await cryptoLakehouse(join(tmp, 'lh-rank'));
  // Ranks in reverse alphabetical order: the limit must keep the last five names of the alphabet that are fresh.
  const fresh = CRYPTO.filter((s) => !['MATICUSDT', 'KLAYUSDT', 'FTMUSDT'].includes(s));
  const ranked = [...fresh].reverse();
  declare(lakehouse, 'ranks.csv', ['symbol,market_cap_rank', ...ranked.map((s, i) => `${s},${i + 1}`)].join('\n'));
  const s = await runYaml(tmp, 'by_rank', `pipeline: selection
version: "4.0"
name: by_rank
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0, sort_by: market_cap_rank, limit: 5 } }, lookback_days: 365 }
`, lakehouse);
  expect(s.outcome).toBe('succeeded');
  const cands = readJson(s.folder, 'candidates.json').candidates;
  expect(cands.map((c: { symbol: string }) => c.symbol)).toEqual(ranked.slice(0, 5));
  expect(cands.map((c: { market_cap_rank: number }) => c.market_cap_rank)).toEqual([1, 2, 3, 4, 5]);
});

test("the order-level simulator trades in the symbols table's lot sizes and refuses orders below its minimum notional", async () => {
  // The hand-worked case of order-level.test.ts ("lot sizes, a minimum notional, fees and the cash account"), with
  // the trading rules declared in the lakehouse instead of the simulator's `symbols` param: the same orders.
  const day = (i: number) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
  const bars: Record<string, [number, number][]> = {
    AAA: [[100, 100], [100, 100], [100, 100], [101, 102], [102, 104], [104, 110], [111, 112], [112, 111]],
    BBB: [[40, 40], [40, 40], [40, 40], [40, 39], [39, 38], [38, 36], [36, 37], [37, 37]],
    CCC: [[7, 7], [7, 7], [7, 7], [7, 7], [7, 7], [7, 7], [7, 7.1], [7.1, 7.2]],
  };
  const dir = join(tmp, 'lots');
  mkdirSync(dir, { recursive: true });
  for (const [symbol, rows] of Object.entries(bars))
    writeFileSync(join(dir, `${symbol}.csv`), ['date,open,high,low,close,volume', ...rows.map(([o, c], i) => `${day(i)},${o},${Math.max(o, c)},${Math.min(o, c)},${c},100000`)].join('\n'));
  const lakehouse = join(tmp, 'lh-lots');
  await (await openLakehouse(lakehouse)).importCsv(dir, { layout: 'ohlcv', venue: 'toy', assetType: 'spot' });
  declare(lakehouse, 'lots.csv', 'symbol,lot_size,min_notional\nAAA,1,250\nBBB,0.5,\nCCC,10,200\n');
  const s = await runYaml(tmp, 'lots_table', `pipeline: selection
version: "4.0"
name: lots_table
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } } }
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 3, test_window: 3, step_size: 3, slippage_bps: 10, commission_bps: 10, workers: 1,
      simulator: { name: event_driven, params: { capital: 10000, fill: close, fee_fixed: 1 } } }
`, lakehouse);
  expect(s.outcome).toBe('succeeded');
  const orders = tableFromIPC(readFileSync(join(s.folder, 'orders.arrow'))).toArray();
  const iso = (d: unknown) => new Date(d instanceof Date ? d.getTime() : Number(d)).toISOString().slice(0, 10);
  // The arithmetic is in order-level.test.ts: 33 AAA (whole units), 83 BBB (halves), 470 CCC (tens); then AAA's
  // sale of 2 units (220 < 250) refused, BBB's buy cut to the cash.
  expect(orders.map((o: Record<string, unknown>) => [iso(o.date), o.symbol, o.side, o.quantity, o.filled, o.status, o.reason])).toEqual([
    ['2024-01-03', 'AAA', 'buy', 33, 33, 'filled', ''],
    ['2024-01-03', 'BBB', 'buy', 83, 83, 'filled', ''],
    ['2024-01-03', 'CCC', 'buy', 470, 470, 'filled', ''],
    ['2024-01-06', 'AAA', 'sell', 2, 0, 'unfilled', 'below minimum notional'],
    ['2024-01-06', 'BBB', 'buy', 9, 1.5, 'partial', 'not enough cash'],
  ]);
});

test('a cached sleeve is recomputed when its symbols metadata changes', async () => {
  const lakehouse = await cryptoLakehouse(join(tmp, 'lh-cache'));
  const sleeve = (name: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 200 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: mps }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25 }
  - type: policy
    params: { filters: [darwinian], top_n: 2, min_winners: 6 }
  - type: synthesis
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 120, test_window: 60, step_size: 60 }
`;
  writeFileSync(join(tmp, 'cache_a.yaml'), sleeve('cache_a'));
  writeFileSync(join(tmp, 'cache_b.yaml'), sleeve('cache_b').replace('top_n: 2', 'top_n: 1'));
  const meta = `pipeline: meta
version: "4.0"
name: cache_meta
sleeves:
  - { name: a, pipeline: ./cache_a.yaml }
  - { name: b, pipeline: ./cache_b.yaml }
stages:
  - type: meta_returns
  - type: meta_optimize
    params: { engine: equal_weight, train_window: 30, test_window: 30, step_size: 30 }
  - type: meta_flatten
`;
  const hits = (folder: string) => auditEvents(folder).filter((e) => e.event === 'sleeve_cache_hit').length;
  const first = await runYaml(tmp, 'cache_meta', meta, lakehouse);
  expect(first.outcome).toBe('succeeded');
  const second = await runYaml(tmp, 'cache_meta', meta, lakehouse);
  expect(hits(second.folder)).toBe(2);
  declare(lakehouse, 'cache.csv', 'symbol,sector\nBTCUSDT,store of value\n');
  const third = await runYaml(tmp, 'cache_meta', meta, lakehouse);
  expect(third.outcome).toBe('succeeded');
  expect(hits(third.folder)).toBe(0);
  expect(third.data_hash).not.toBe(second.data_hash);
});
