/**
 * The two simulators against each other on the crypto example (the Binance closes of ../shared/data/crypto in a
 * temporary lakehouse), from a user's side (issue 16). A SHORT book (it pays borrow; short sales fill the cash
 * account), challenger rankers, risk budgets on a symbol that delists (MATICUSDT, bought back at its last price
 * by the next decision that drops it): with fractional units, no lots or minimums, fills at
 * the close and the same costs, the order-level equity is the vectorized one to 1e-9, for the champion and every
 * challenger: the two are independent routes (dollars and units against weights and drift) to the same numbers.
 * Then the realistic settings (next open, Binance-like lot sizes, a participation cap) are out of sample too:
 * appending data after a date changes no earlier day's return.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { DATA_DIR } from '../data.js';
import { cryptoLakehouse, readJson, runYaml } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-parity-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lh'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const yaml = (name: string, backtest: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 180 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { rankers: [{ name: mps, params: { directions: { momentum: -1, roc: -1 } } }, cars] }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60] }
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 8 }
  - type: synthesis
    params: { direction: SHORT, logic: weakness }
  - type: allocation
    params: { engine: { name: risk_parity, params: { budgets: { BTCUSDT: 2, MATICUSDT: 3 } } }, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 180, test_window: 45, step_size: 60, workers: 1, ${backtest} }
  - type: report
`;

/** Binance spot step sizes (LOT_SIZE stepSize) of the largest names, and its 5 USDT NOTIONAL minimum. */
export const BINANCE_LIKE = `{ capital: 100000, max_participation: 0.01, lot_size: 0.01, min_notional: 5, symbols: { BTCUSDT: { lot_size: 0.00001 }, ETHUSDT: { lot_size: 0.0001 }, BNBUSDT: { lot_size: 0.001 }, SOLUSDT: { lot_size: 0.001 }, XRPUSDT: { lot_size: 1 }, DOGEUSDT: { lot_size: 1 }, ADAUSDT: { lot_size: 0.1 }, TRXUSDT: { lot_size: 0.1 } } }`;

function columns(folder: string, file: string): Record<string, Float64Array> {
  const t = tableFromIPC(readFileSync(join(folder, file)));
  return Object.fromEntries(t.schema.fields.filter((f: any) => f.name !== 'date').map((f: any) => [f.name, t.getChild(f.name)!.toArray() as Float64Array]));
}
const equity = (r: ArrayLike<number>) => {
  let e = 1;
  return Array.from(r, (x) => (e *= 1 + x));
};

test('fractional units, fills at the close, the same costs: the order-level equity equals the vectorized one to 1e-9, champion and challengers', async () => {
  const costs = 'slippage_bps: 0, commission_bps: 0, borrow_rate: 0.08';
  const ed = await runYaml(tmp, 'ed', yaml('ed', `${costs}, parity: true, simulator: { name: event_driven, params: { fill: close } }`), lakehouse, join(tmp, 'runs'));
  const vec = await runYaml(tmp, 'vec', yaml('vec', `${costs}, simulator: vectorized`), lakehouse, join(tmp, 'runs'));
  expect(ed.outcome).toBe('succeeded');
  expect(vec.outcome).toBe('succeeded');
  const a = columns(ed.folder, 'challengers.arrow');
  const b = columns(vec.folder, 'challengers.arrow');
  expect(Object.keys(a).sort()).toEqual(['cars', 'mps']);
  for (const ranker of ['mps', 'cars']) {
    const ea = equity(a[ranker]!);
    const eb = equity(b[ranker]!);
    expect(ea.length).toBeGreaterThan(700);
    let worst = 0;
    for (let i = 0; i < ea.length; i++) worst = Math.max(worst, Math.abs(ea[i]! - eb[i]!));
    expect(worst).toBeLessThan(1e-9);
  }
  // It is a real book: shorts that pay borrow, trades that go through, a delisting held to its last price.
  const btA = readJson(ed.folder, 'metrics.json').backtest;
  const btB = readJson(vec.folder, 'metrics.json').backtest;
  expect(btB.carry.borrow).toBeGreaterThan(1e-3);
  expect(btA.carry.borrow).toBeCloseTo(btB.carry.borrow, 9);
  expect(btA.turnover).toBeCloseTo(btB.turnover, 9);
  // The book held day by day (positions in currency over the day's starting equity against drifted weights): the same
  // realised exposure, cash days after each exit included.
  expect(btB.realised_gross_exposure.max).toBeGreaterThan(1);
  for (const k of ['max', 'mean']) expect(btA.realised_gross_exposure[k]).toBeCloseTo(btB.realised_gross_exposure[k], 9);
  for (const k of ['min', 'max', 'mean']) expect(btA.realised_net_exposure[k]).toBeCloseTo(btB.realised_net_exposure[k], 9);
  expect(btA.realised_gross_exposure.max_date).toBe(btB.realised_gross_exposure.max_date);
  expect(btA.simulator).toMatchObject({ name: 'event_driven', unfilled: 0 });
  expect(btA.simulator.fills).toBeGreaterThan(100);

  // parity.json: the same comparison inside one run, every figure the issue lists.
  const p = readJson(ed.folder, 'parity.json');
  expect(p).toMatchObject({ simulator: 'event_driven', reference: 'vectorized' });
  for (const side of ['event_driven', 'vectorized']) for (const k of ['sharpe', 'cagr', 'max_drawdown', 'turnover', 'costs']) expect(typeof p.metrics[side][k]).toBe('number');
  expect(p.metrics.vectorized.sharpe).toBeCloseTo(btB.sharpe, 12);
  expect(p.metrics.event_driven.sharpe).toBeCloseTo(btA.sharpe, 12);
  for (const k of ['sharpe', 'cagr', 'max_drawdown', 'turnover', 'costs']) expect(Math.abs(p.differences[k])).toBeLessThan(1e-9);
  expect(p.tracking_error).toBeLessThan(1e-9);
  expect(Math.abs(p.largest_equity_gap.gap)).toBeLessThan(1e-9);
  expect(p.largest_equity_gap.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(p.unfilled).toMatchObject({ orders: 0, list: [] });
  // Every fill, counted by where it happened, as fills.arrow has them.
  const fillsAt = Array.from(tableFromIPC(readFileSync(join(ed.folder, 'fills.arrow'))).getChild('at')!.toArray() as ArrayLike<string>);
  expect(p.fills).toEqual({ at_open: fillsAt.filter((a) => a === 'open').length, at_close: fillsAt.filter((a) => a === 'close').length });
  expect(p.fills.at_open + p.fills.at_close).toBe(btA.simulator.fills);

  // The account in dollars tells the same story: equity / capital is the equity curve (every day here: with trading
  // costs, a rebalance day's account has paid for the trade the curve books on the first held day).
  const cash = tableFromIPC(readFileSync(join(ed.folder, 'cash.arrow')));
  const eqD = cash.getChild('equity')!.toArray() as Float64Array;
  const eqR = equity(columns(ed.folder, 'returns.arrow').return!);
  for (let i = 1; i < eqD.length; i++) expect(Math.abs(eqD[i]! / 100000 - eqR[i - 1]!)).toBeLessThan(1e-9);
  const report = readFileSync(join(ed.folder, 'report.md'), 'utf8');
  expect(report).toContain('## Parity: event_driven against vectorized');
  expect(readFileSync(join(ed.folder, 'report.html'), 'utf8')).toContain('Equity gap (event_driven / vectorized − 1)');
});

test('with trading costs the two conventions differ at second order only, and by no more than that', async () => {
  // The vectorized simulator charges k = slippage + commission on Σ|w − c| of the equity before the trade and holds
  // w of what is left; the order book trades to w of the equity after the costs it pays (a fixed point) and pays
  // commission on the slipped price. Per trade the traded notionals differ by at most the gross (1 here) times the
  // cost, so the costs by at most k × cost + commission × slippage × turnover; after the trade each book holds w of
  // its own equity, so a relative gap made there is carried, not amplified: the largest relative gap is at most
  // the sum of those terms over every trade.
  const r = await runYaml(tmp, 'costs', yaml('costs', 'parity: true, simulator: { name: event_driven, params: { fill: close } }'), lakehouse, join(tmp, 'runs'));
  expect(r.outcome).toBe('succeeded');
  const p = readJson(r.folder, 'parity.json');
  const windows = readFileSync(join(r.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'window').map((e) => e.data);
  const k = 6e-4;
  const bound = windows.reduce((a: number, w: { cost: number; turnover: number }) => a + k * w.cost + 1e-4 * 5e-4 * w.turnover, 0);
  expect(Math.abs(p.largest_equity_gap.relative)).toBeGreaterThan(1e-9); // not the same numbers any more
  expect(Math.abs(p.largest_equity_gap.relative)).toBeLessThan(bound);
  expect(p.metrics.event_driven.costs).toBeGreaterThan(0.01);
  expect(Math.abs(p.differences.costs)).toBeLessThan(k * p.metrics.vectorized.costs * 2);
});

test('realistic settings (next open, Binance-like lots, a 1% participation cap) diverge a little, say so, and never look ahead', async () => {
  const backtest = `parity: true, simulator: { name: event_driven, params: ${BINANCE_LIKE} }`;
  const full = await runYaml(tmp, 'real', yaml('real', backtest), lakehouse, join(tmp, 'runs-full'));
  expect(full.outcome).toBe('succeeded');
  const p = readJson(full.folder, 'parity.json');
  // Not equal any more, but close: these settings move returns by basis points, not by the strategy's sign.
  expect(Math.abs(p.differences.cagr)).toBeGreaterThan(1e-6);
  expect(Math.abs(p.differences.cagr)).toBeLessThan(0.05);
  expect(p.tracking_error).toBeGreaterThan(0);
  expect(p.unfilled.of).toBeGreaterThan(100);
  expect(p.unfilled.orders).toBe(p.unfilled.list.length);
  expect(Object.values(p.unfilled.by_reason).reduce((x: number, y) => x + (y as number), 0)).toBe(p.unfilled.orders);
  expect(p.settings.event_driven).toMatchObject({ fill: 'next_open', max_participation: 0.01, min_notional: 5 });

  // The same pipeline on the closes cut at 2024-12-31: every common day's return is identical, for every ranker.
  const cut = join(tmp, 'cut');
  mkdirSync(cut);
  for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((x) => x.endsWith('.csv'))) {
    const lines = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split('\n');
    writeFileSync(join(cut, f), [lines[0], ...lines.slice(1).filter((l) => l.slice(0, 10) <= '2024-12-31')].join('\n'));
  }
  const cutLh = await cryptoLakehouse(join(tmp, 'lh-cut'), cut);
  const early = await runYaml(tmp, 'real', yaml('real', backtest), cutLh, join(tmp, 'runs-cut'));
  expect(early.outcome).toBe('succeeded');
  const days = (folder: string) => Array.from(tableFromIPC(readFileSync(join(folder, 'challengers.arrow'))).getChild('date')!.toArray() as ArrayLike<unknown>, (d) => (d instanceof Date ? d.getTime() : Number(d)));
  const dFull = days(full.folder);
  const dCut = days(early.folder);
  const a = columns(full.folder, 'challengers.arrow');
  const b = columns(early.folder, 'challengers.arrow');
  expect(dCut.length).toBeGreaterThan(500);
  for (const ranker of ['mps', 'cars']) {
    dCut.forEach((d, i) => {
      const j = dFull.indexOf(d);
      expect(j).toBeGreaterThanOrEqual(0);
      expect(a[ranker]![j]).toBe(b[ranker]![i]);
    });
  }
});
