/**
 * Toxic data (issue 10, item 2), from a user's side, on the synthetic market: PUMPUSDT prints +620% on 2024-10-08
 * (day 300 of 750, seed 42) and gives most of it back the next day (gross 1/6.8), by construction of the generator
 * (src/lakehouse/sources/synthetic.ts). The decisions and the simulator book the same cleaned series: the spike
 * is not booked (held flat), the reversal is booked from the last good close (7.2 / 6.8 - 1 = +1/17), so a SHORT
 * book on PUMP is no longer liquidated by a print the engine itself called bad.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { auditEvents as events, readJson as read, runYaml as run } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-toxic-'));
  writeFileSync(join(tmp, 'pump.json'), JSON.stringify([{ symbol: 'PUMPUSDT' }]));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const runYaml = (name: string, yaml: string) => run(tmp, name, yaml);
const market = `{ name: synthetic, params: { symbols: 60, days: 750, seed: 42 } }`;

test('a SHORT book on PUMP is not liquidated by the +620% print; the spike is held flat and the reversal booked from the last good close', async () => {
  const s = await runYaml('pump_short', `pipeline: selection\nversion: "4.0"\nname: pump_short\nstages:
  - type: ingestion
    params: { scanner: ${market}, candidates_path: ./pump.json, lookback_days: 120 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: policy
    params: { filters: [], top_n: 1, min_winners: 1 }
  - type: synthesis
    params: { direction: SHORT }
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 120, test_window: 20, step_size: 20, workers: 1, borrow_rate: 0 }
`);
  expect(s.outcome).toBe('succeeded');
  const bt = read(s.folder, 'metrics.json').backtest;
  expect(bt.liquidated).toBe(false);
  const t = tableFromIPC(readFileSync(join(s.folder, 'returns.arrow')));
  const days = Array.from(t.getChild('date')!.toArray() as ArrayLike<number>, (x) => new Date(Number(x) > 1e7 ? Number(x) : Number(x) * 86_400_000).toISOString().slice(0, 10));
  const ret = Array.from(t.getChild('return')!.toArray() as Float64Array);
  const on = (iso: string) => ret[days.indexOf(iso)];
  const win = events(s.folder).filter((e) => e.event === 'window').map((e) => e.data).find((w) => w.start === '2024-10-08');
  expect(win).toBeDefined();
  expect(win.weights).toEqual([{ symbol: 'PUMPUSDT', weight: -1 }]);
  // The spike day is the window's first: only the rebalance cost (6 bps of the traded notional) is booked.
  expect(on('2024-10-08')).toBeCloseTo(-win.turnover * 6e-4, 15);
  // The reversal: a short of weight -1 (undrifted: nothing was booked the day before) loses the +1/17 between good closes.
  expect(on('2024-10-09')).toBeCloseTo(-(7.2 / 6.8 - 1), 12);
  expect(on('2024-10-09')).toBeCloseTo(-1 / 17, 12);
  // Both bars recorded with their date, raw value and what was booked instead.
  const toxic = events(s.folder).filter((e) => e.event === 'toxic_bar' && e.stage === 'backtest').map((e) => e.data);
  expect(toxic.map((b) => [b.symbol, b.date, b.kind])).toEqual([['PUMPUSDT', '2024-10-08', 'spike'], ['PUMPUSDT', '2024-10-09', 'reversal']]);
  expect(toxic[0].value).toBeCloseTo(6.2, 9);
  expect(toxic[0].booked).toBeNull();
  expect(toxic[1].value).toBeCloseTo(1 / 6.8 - 1, 9);
  expect(toxic[1].booked).toBeCloseTo(1 / 17, 9);
  expect(win.toxic_bars).toHaveLength(2);
});

test('the decisions see the same series: features after the spike carry neither the +620% nor the -85% day', async () => {
  const s = await runYaml('pump_features', `pipeline: selection\nversion: "4.0"\nname: pump_features\nstages:
  - type: ingestion
    params: { scanner: ${market}, candidates_path: ./pump.json, as_of: "2024-10-20", lookback_days: 60 }
  - type: feature_engineering
    params: { lookback: 30 }
`);
  expect(s.outcome).toBe('succeeded');
  const f = read(s.folder, 'features.json');
  const j = f.symbols.indexOf('PUMPUSDT');
  // Daily returns of the generator outside the spike are a few percent: max drawdown and momentum stay ordinary.
  expect(Math.abs(f.features.max_drawdown[j])).toBeLessThan(0.6);
  expect(f.features.momentum[j]).toBeLessThan(1);
  expect(f.features.momentum[j]).toBeGreaterThan(-0.6);
  const toxic = events(s.folder).filter((e) => e.event === 'toxic_bar' && e.stage === 'ingestion').map((e) => [e.data.date, e.data.kind]);
  expect(toxic).toEqual([['2024-10-08', 'spike'], ['2024-10-09', 'reversal']]);
});
