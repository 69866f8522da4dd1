/**
 * Appending data never changes an earlier day's return, for a selection pipeline that uses what issue 10 added:
 * point-in-time freshness (FTMUSDT, MATICUSDT and KLAYUSDT delist inside the history), challenger rankers, risk
 * budgets keyed by symbols that come and go, SHORT atoms paying borrow, relaxed cluster caps. The Binance closes in
 * ../shared/data/crypto are cut at 2024-12-31 (a copy in a temporary folder) and run beside the full files.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DATA_DIR, REPO_DIR } from '../data.js';
import { cryptoLakehouse, runYaml } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-append-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const yaml = `pipeline: selection
version: "4.0"
name: append
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 180 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { rankers: [mps, cars, regime] }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60] }
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 8 }
  - type: synthesis
    params: { direction: BOTH }
  - type: allocation
    params: { engine: { name: risk_parity, params: { budgets: { BTCUSDT: 2, MATICUSDT: 3 } } }, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 180, test_window: 60, step_size: 60, workers: 1 }
`;

async function runOn(name: string, source: string, pipeline = yaml) {
  const lakehouse = await cryptoLakehouse(join(tmp, `lh-${name}`), source);
  const s = await runYaml(tmp, name, pipeline, lakehouse, join(tmp, `runs-${name}`));
  expect(s.outcome).toBe('succeeded');
  return s.folder;
}

function columns(folder: string, file: string): Map<string, Map<number, number>> {
  const t = tableFromIPC(readFileSync(join(folder, file)));
  const dates = Array.from(t.getChild('date')!.toArray() as ArrayLike<number>, Number);
  return new Map(t.schema.fields.filter((f) => f.name !== 'date').map((f) => {
    const v = t.getChild(f.name)!.toArray() as Float64Array;
    return [f.name, new Map(dates.map((d, i) => [d, v[i]!]))] as const;
  }));
}

/** The Binance files cut at 2024-12-31, once. */
let cutDir: string | undefined;
function cutData(): string {
  if (cutDir) return cutDir;
  const cut = join(tmp, 'cut');
  mkdirSync(cut);
  for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((x) => x.endsWith('.csv'))) {
    const lines = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split(/\r?\n/);
    writeFileSync(join(cut, f), [lines[0], ...lines.slice(1).filter((l) => l.slice(0, 10) <= '2024-12-31')].join('\n'));
  }
  return (cutDir = cut);
}

test('cut at 2024-12-31 and full data: every common day of every ranker\'s returns is identical', async () => {
  const cut = cutData();
  const full = await runOn('full', join(DATA_DIR, 'crypto'));
  const short = await runOn('cut', cut);
  for (const file of ['returns.arrow', 'challengers.arrow']) {
    const a = columns(full, file);
    const b = columns(short, file);
    expect([...b.keys()]).toEqual([...a.keys()]);
    let common = 0;
    for (const [name, col] of b) {
      for (const [d, x] of col) {
        expect(a.get(name)!.has(d)).toBe(true);
        expect(a.get(name)!.get(d)).toBe(x);
        common++;
      }
    }
    expect(common).toBeGreaterThan(800);
  }
}, 120_000);

test('the order-level simulator too (fills at the next open under a participation cap): cut and full data give the same days', async () => {
  // Opens are trusted by what is known at them, and the cap by the volumes before them (order-book.ts): the example
  // long book (pipelines/crypto_long.yaml), whose orders are large enough for a cap of 0.01% of a bar's volume to bind.
  const long = readFileSync(join(REPO_DIR, 'pipelines', 'crypto_long.yaml'), 'utf8');
  const orders = long.replace('params: { train_window: 180, test_window: 60, step_size: 30 }', 'params: { train_window: 180, test_window: 60, step_size: 30, workers: 1, simulator: { name: event_driven, params: { fill: next_open, max_participation: 0.0001 } } }');
  expect(orders).not.toBe(long);
  const full = await runOn('full-orders', join(DATA_DIR, 'crypto'), orders);
  const short = await runOn('cut-orders', cutData(), orders);
  const a = columns(full, 'returns.arrow').get('return')!;
  const b = columns(short, 'returns.arrow').get('return')!;
  for (const [d, x] of b) expect({ d, x: a.get(d) }).toEqual({ d, x });
  expect(b.size).toBeGreaterThan(800);
  // The cap binds: orders fill in parts over several bars (else the test would not reach the volume rule).
  const rows = (file: string) => tableFromIPC(readFileSync(join(short, file))).numRows;
  expect(rows('fills.arrow')).toBeGreaterThan(rows('orders.arrow'));
}, 180_000);

test('the order-level simulator on closes alone (a wide CSV), rebalanced every day: cut and full data give the same days', async () => {
  // Every order due at an open fills at that day's close, before that close's rebalance (order-book.ts): decided by
  // the day's own close, never a later one.
  const [header, ...lines] = readFileSync(join(DATA_DIR, 'pypfopt', 'stock_prices.csv'), 'utf8').trim().split(/\r?\n/);
  const recent = lines.filter((l) => l.slice(0, 10) >= '2016-06-01');
  const write = (name: string, rows: string[]) => {
    const file = join(tmp, `${name}.csv`);
    writeFileSync(file, [header, ...rows].join('\n'));
    return file;
  };
  const pipeline = (csv: string) => `pipeline: selection
version: "4.0"
name: closes_daily
stages:
  - type: ingestion
    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } }, lookback_days: 60 }
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 60, test_window: 1, step_size: 1, workers: 1, simulator: { name: event_driven, params: { fill: next_open } } }
`;
  const run = async (name: string, rows: string[]) => {
    const s = await runYaml(tmp, name, pipeline(write(name, rows)), join(tmp, 'none'), join(tmp, `runs-${name}`));
    expect(s.outcome).toBe('succeeded');
    return s.folder;
  };
  const full = await run('closes-full', recent);
  const short = await run('closes-cut', recent.filter((l) => l.slice(0, 10) <= '2017-06-30'));
  const a = columns(full, 'returns.arrow').get('return')!;
  const b = columns(short, 'returns.arrow').get('return')!;
  for (const [d, x] of b) expect({ d, x: a.get(d) }).toEqual({ d, x });
  expect(b.size).toBeGreaterThan(200);
  // Every fill after the first rebalance's is at a close (closes alone), and the orders do fill.
  const at = tableFromIPC(readFileSync(join(short, 'fills.arrow'))).getChild('at')!.toArray() as string[];
  expect(at.filter((x) => x === 'close').length).toBeGreaterThan(200);
  expect(at.filter((x) => x === 'open')).toEqual([]);
}, 180_000);

test('the csv scanner: liquidity as of each decision, never the file\'s last bar (a volume floor without the dollar_volume feature)', async () => {
  // The darwinian filter reads the candidates' volume_24h when the dollar_volume feature is not computed. Taken from
  // a file's last bar, a symbol that traded thinly on its last day (a delisting: FTMUSDT's $2.8M on 2025-01-13) was
  // vetoed under the $50M floor by every past decision of the full files, though it traded far more then.
  const full = join(tmp, 'crypto-full');
  cpSync(join(DATA_DIR, 'crypto'), full, { recursive: true });
  const pipeline = (dir: string) => `pipeline: selection
version: "4.0"
name: csv_floor
stages:
  - type: ingestion
    params: { scanner: { name: csv, params: { path: ${JSON.stringify(dir)}, layout: ohlcv, venue: binance_spot } }, lookback_days: 180 }
  - type: feature_engineering
    params: { lookback: 60, features: [momentum, volatility, missing_fraction] }
  - type: inference
    params: { rankers: [mps] }
  - type: policy
    params: { filters: [{ name: darwinian, params: { min_volume: 50000000 } }], top_n: 2, min_winners: 2 }
  - type: synthesis
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 180, test_window: 30, step_size: 30, workers: 1 }
`;
  const run = async (name: string, dir: string) => {
    const s = await runYaml(tmp, name, pipeline(dir), join(tmp, 'none'), join(tmp, `runs-${name}`));
    expect(s.outcome).toBe('succeeded');
    return s.folder;
  };
  const a = columns(await run('csv-full', full), 'returns.arrow').get('return')!;
  const shortFolder = await run('csv-cut', cutData());
  const b = columns(shortFolder, 'returns.arrow').get('return')!;
  for (const [d, x] of b) expect({ d, x: a.get(d) }).toEqual({ d, x });
  expect(b.size).toBeGreaterThan(800);
  // The case the floor decides: symbols under the floor by their full file's last bar (a delisting's thin last day)
  // are held by past decisions.
  const thinAtEnd = new Set<string>();
  for (const f of readdirSync(full).filter((x) => x.endsWith('.csv'))) {
    const [header, ...rows] = readFileSync(join(full, f), 'utf8').trim().split(/\r?\n/);
    const cols = header.split(',');
    const last = rows[rows.length - 1].split(',');
    if (Number(last[cols.indexOf('close')]) * Number(last[cols.indexOf('volume')]) < 50e6) thinAtEnd.add(f.replace(/\.csv$/, ''));
  }
  const held = new Set<string>();
  for (const e of readFileSync(join(shortFolder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))) {
    if (e.event === 'window') for (const w of (e.data.weights ?? []) as { symbol: string }[]) held.add(w.symbol);
  }
  expect([...held].filter((x) => thinAtEnd.has(x)).length).toBeGreaterThan(0);
}, 180_000);
