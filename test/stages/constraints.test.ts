/**
 * Constraints that used to change silently (issue 10, item 7), from a user's side:
 * - regime caps are params (defaults normal 0.25, turbulent 0.20, crisis 0.15); a cap the clusters cannot hold is
 *   relaxed by the declared rule (1/k) and recorded in the audit, metrics.json and every backtest window, or refused;
 * - risk_parity budgets are keyed by symbol as well as atom id; a budgeted name absent at a rebalance is left out,
 *   the rest renormalised, and the window records it: the backtest does not fail;
 * - metrics.json's allocation block describes the weights in weights.json (the backtest's as-of decision), checked
 *   against a covariance computed here from the CSV closes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR } from '../data.js';
import { auditEvents as events, cryptoLakehouse, readJson as read, runYaml } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-constraints-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lakehouse'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (name: string, yaml: string) => runYaml(tmp, name, yaml, lakehouse);

const funnel = (name: string, allocation: string, extra = '') => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 365 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: regime }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 2, lookbacks: [60] }
  - type: policy
    params: { filters: [darwinian], top_n: 4, min_winners: 8 }
  - type: synthesis
  - type: allocation
    params: ${allocation}
  - type: backtest
    params: { train_window: 120, test_window: 60, step_size: 60, workers: 1${extra} }
`;

describe('cluster caps', () => {
  test('two clusters cannot hold the budget under 0.25: relaxed to 1/2 by the declared rule, recorded everywhere', async () => {
    const s = await run('caps_relax', funnel('caps_relax', '{ engine: equal_weight, cluster_cap: 0.25 }'));
    expect(s.outcome).toBe('succeeded');
    const alloc = read(s.folder, 'metrics.json').allocation;
    const regimeCap = { NORMAL: 0.25, TURBULENT: 0.2, CRISIS: 0.15 }[alloc.cluster_cap.regime as 'NORMAL'];
    expect(alloc.cluster_cap).toMatchObject({ requested: 0.25, regime_cap: regimeCap, applied: 0.5, relaxed: true, rule: 'equal_share' });
    expect(alloc.adjustments).toEqual([expect.objectContaining({ kind: 'cluster_cap_relaxed', from: Math.min(0.25, regimeCap), to: 0.5, clusters: 2, rule: 'equal_share' })]);
    // Every backtest window decided under the relaxed cap says so.
    const windows = events(s.folder).filter((e) => e.event === 'window').map((e) => e.data);
    expect(windows.length).toBeGreaterThan(5);
    for (const w of windows.filter((x) => !x.cash_reason)) {
      // The rule: an equal share per cluster the winners fall in (1/2, or 1 when they all fall in one).
      expect(w.adjustments).toEqual([expect.objectContaining({ stage: 'allocation', kind: 'cluster_cap_relaxed', rule: 'equal_share' })]);
      const a = w.adjustments[0];
      expect(a.to).toBe(1 / a.clusters);
      expect([0.25, 0.2, 0.15]).toContain(a.from);
    }
    expect(events(s.folder).filter((e) => e.event === 'window_adjustment').length).toBe(windows.filter((x) => !x.cash_reason).length);
  });

  test('regime caps are params: raised to 0.5 in every regime, nothing is relaxed', async () => {
    const s = await run('caps_param', funnel('caps_param', '{ engine: equal_weight, cluster_cap: 0.5, regime_caps: { normal: 0.5, turbulent: 0.5, crisis: 0.5 } }'));
    expect(s.outcome).toBe('succeeded');
    const alloc = read(s.folder, 'metrics.json').allocation;
    expect(alloc.cluster_cap).toMatchObject({ requested: 0.5, regime_cap: 0.5, applied: 0.5, relaxed: false });
    expect(alloc.adjustments).toEqual([]);
    expect(events(s.folder).some((e) => e.event === 'cluster_cap_relaxed')).toBe(false);
  });

  test('on_infeasible_caps: refuse fails the run with a coded error naming the date', async () => {
    const s = await run('caps_refuse', funnel('caps_refuse', '{ engine: equal_weight, cluster_cap: 0.25, on_infeasible_caps: refuse }'));
    expect(s.outcome).toBe('failed');
    expect(s.error?.code).toBe('CLUSTER_CAPS_INFEASIBLE');
    expect(s.error?.message).toMatch(/^allocation as of 2025-03-06: 2 cluster\(s\) capped at 0\.(25|2|15) cannot hold the budget 1/);
  });
});

/** Daily simple returns of each symbol from its CSV closes, keyed by date. */
function csvReturns(symbol: string): Map<string, number> {
  const [, ...rows] = readFileSync(join(DATA_DIR, 'crypto', `${symbol}.csv`), 'utf8').trim().split(/\r?\n/);
  const out = new Map<string, number>();
  let prev = NaN;
  for (const r of rows) {
    const c = r.split(',');
    const close = Number(c[4]);
    if (Number.isFinite(prev)) out.set(c[0], close / prev - 1);
    prev = close;
  }
  return out;
}

/** pandas' pairwise sample covariance (ddof 1) of the given columns. */
function covariance(cols: number[][]): number[][] {
  const n = cols.length;
  const out = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) for (let b = a; b < n; b++) {
    const pairs = cols[a]!.map((x, t) => [x, cols[b]![t]!]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const ma = pairs.reduce((s, p) => s + p[0]!, 0) / pairs.length;
    const mb = pairs.reduce((s, p) => s + p[1]!, 0) / pairs.length;
    out[a]![b] = out[b]![a] = pairs.reduce((s, p) => s + (p[0]! - ma) * (p[1]! - mb), 0) / (pairs.length - 1);
  }
  return out;
}

describe('risk_parity budgets by symbol, and the allocation block of metrics.json', () => {
  let folder: string;
  beforeAll(async () => {
    const s = await run('budgets', `pipeline: selection
version: "4.0"
name: budgets
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 365 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: policy
    params: { filters: [], top_n: 100, min_winners: 0 }
  - type: synthesis
  - type: allocation
    params: { engine: { name: risk_parity, params: { budgets: { BTCUSDT: 3, ETHUSDT: 2, MATICUSDT: 2 } } } }
  - type: backtest
    params: { train_window: 90, test_window: 90, step_size: 90, workers: 1 }
`);
    expect(s.outcome).toBe('succeeded');
    folder = s.folder;
  });

  test('a budgeted symbol absent at a rebalance (MATIC, delisted 2024-09-10) is renormalised and recorded, not a failed backtest', () => {
    const windows = events(folder).filter((e) => e.event === 'window').map((e) => e.data);
    const after = windows.filter((w) => w.as_of > '2024-09-13');
    // (Until 2022-06-12 only MATIC, KLAY and FTM trade: BTC and ETH are the absent ones then, recorded too.)
    const early = windows.filter((w) => w.as_of < '2022-06-12');
    const before = windows.filter((w) => w.as_of > '2022-07-01' && w.as_of < '2024-09-01');
    expect(early.length).toBeGreaterThan(0);
    for (const w of early) expect(w.adjustments).toEqual([expect.objectContaining({ kind: 'budgets_renormalised', absent: ['BTCUSDT', 'ETHUSDT'] })]);
    expect(after.length).toBeGreaterThan(0);
    expect(before.length).toBeGreaterThan(0);
    for (const w of after) expect(w.adjustments).toEqual([expect.objectContaining({ kind: 'budgets_renormalised', absent: ['MATICUSDT'], engine: 'risk_parity' })]);
    for (const w of before) expect(w.adjustments ?? []).toEqual([]);
    expect(windows.every((w) => w.engine === 'risk_parity')).toBe(true);
  });

  test('metrics.json describes weights.json; risk contributions follow the symbol budgets (covariance from the CSV closes)', () => {
    const weights = read(folder, 'weights.json') as { symbol: string; weight: number }[];
    const alloc = read(folder, 'metrics.json').allocation;
    expect(alloc.weights).toEqual(Object.fromEntries(weights.map((w) => [w.symbol, w.weight])));
    expect(alloc.decision).toEqual({ by: 'backtest', as_of: '2025-03-06', lookback_days: 90 });
    expect(alloc.covariance.regularisation).toBe(0);
    // The 90 days up to 2025-03-06, every held symbol's returns from its CSV.
    const days = Array.from({ length: 90 }, (_, k) => new Date(Date.parse('2025-03-06T00:00:00Z') - (89 - k) * 86_400_000).toISOString().slice(0, 10));
    const cols = weights.map((w) => {
      const r = csvReturns(w.symbol);
      return days.map((d) => r.get(d) ?? NaN);
    });
    const cov = covariance(cols);
    const w = weights.map((x) => x.weight);
    const sigmaW = cov.map((row) => row.reduce((s, c, j) => s + c * w[j]!, 0));
    const variance = w.reduce((s, x, i) => s + x * sigmaW[i]!, 0);
    // The block's volatility is this decision's: sqrt(w' Σ w × 365) on the train window's covariance.
    expect(alloc.volatility).toBeCloseTo(Math.sqrt(variance * 365), 10);
    // Risk contributions w_i (Σw)_i / w'Σw are proportional to the budgets: BTC 3, ETH 2, every other asset 1.
    const rc = Object.fromEntries(weights.map((x, i) => [x.symbol, (x.weight * sigmaW[i]!) / variance]));
    const total = 3 + 2 + (weights.length - 2);
    expect(rc.BTCUSDT).toBeCloseTo(3 / total, 8);
    expect(rc.ETHUSDT).toBeCloseTo(2 / total, 8);
    for (const s of weights.map((x) => x.symbol).filter((x) => x !== 'BTCUSDT' && x !== 'ETHUSDT')) expect(rc[s]).toBeCloseTo(1 / total, 8);
  });
});
