/**
 * Stale and delisted symbols (issue 10, item 3), from a user's side: pipelines over the Binance closes in
 * ../shared/data/crypto, where MATICUSDT (last bar 2024-09-10), KLAYUSDT (2024-10-30) and FTMUSDT (2025-01-13)
 * stop early. A symbol with no bar within the freshness window of the decision date is not a candidate, the
 * funnel names it with its reason, and liquidity is the mean quote volume of the bars in the 30 calendar days up
 * to the decision (recomputed here from the CSV text, not by our readers).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DATA_DIR } from '../data.js';
import { auditEvents, cryptoLakehouse, readJson as read, runYaml as run } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-stale-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lakehouse'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const runYaml = (name: string, yaml: string) => run(tmp, name, yaml, lakehouse);

/** date -> close × volume of one symbol, straight from its CSV. */
function quoteVolumes(symbol: string): Map<string, number> {
  const [, ...rows] = readFileSync(join(DATA_DIR, 'crypto', `${symbol}.csv`), 'utf8').trim().split(/\r?\n/);
  return new Map(rows.map((r) => {
    const c = r.split(',');
    return [c[0], Number(c[4]) * Number(c[5])] as const;
  }));
}
const isoDay = (iso: string, plus: number) => new Date(Date.parse(`${iso}T00:00:00Z`) + plus * 86_400_000).toISOString().slice(0, 10);

test('on 2025-03-06 the delisted MATIC, KLAY and FTM are not candidates; the funnel names each with its reason', async () => {
  const s = await runYaml('stale_latest', `pipeline: selection\nversion: "4.0"\nname: stale_latest\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 365 }\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: report\n`);
  expect(s.outcome).toBe('succeeded');
  const cand = read(s.folder, 'candidates.json');
  expect(cand.as_of).toBe('2025-03-06');
  const symbols = cand.candidates.map((c: { symbol: string }) => c.symbol);
  for (const gone of ['MATICUSDT', 'KLAYUSDT', 'FTMUSDT']) expect(symbols).not.toContain(gone);
  expect(symbols).toHaveLength(46);
  const step = cand.funnel.find((f: { step: string }) => f.step === 'fresh_at_as_of');
  expect(step.left).toBe(46);
  const reasons = Object.fromEntries(step.dropped.map((d: { symbol: string; reason: string }) => [d.symbol, d.reason]));
  expect(Object.keys(reasons).sort()).toEqual(['FTMUSDT', 'KLAYUSDT', 'MATICUSDT']);
  expect(reasons.MATICUSDT).toBe('last bar 2024-09-10, 177 days before 2025-03-06 (freshness 3 days for spot)');
  expect(reasons.FTMUSDT).toBe('last bar 2025-01-13, 52 days before 2025-03-06 (freshness 3 days for spot)');
  // Nothing stale reaches the features (no empty rows ranked downstream).
  expect(read(s.folder, 'features.json').symbols).not.toContain('MATICUSDT');
  const audit = auditEvents(s.folder);
  expect(readFileSync(join(s.folder, 'report.md'), 'utf8')).toContain('- MATICUSDT: last bar 2024-09-10, 177 days before 2025-03-06 (freshness 3 days for spot)');
  // The report groups the left-out symbols by the discovery step that dropped them, each with its reason.
  expect(readFileSync(join(s.folder, 'report.html'), 'utf8')).toContain('MATICUSDT: last bar 2024-09-10, 177 days before 2025-03-06 (freshness 3 days for spot)');
  expect(audit.find((e) => e.event === 'not_fresh_at_as_of')!.data.symbols.map((d: { symbol: string }) => d.symbol).sort()).toEqual(['FTMUSDT', 'KLAYUSDT', 'MATICUSDT']);
});

test('liquidity is the mean quote volume of the bars in the 30 calendar days to the decision, not the last 30 bars', async () => {
  // freshness 30 days keeps MATIC (last bar 10 days before) so its liquidity can be read: 20 bars in the window.
  const s = await runYaml('stale_liquidity', `pipeline: selection\nversion: "4.0"\nname: stale_liquidity\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, as_of: "2024-09-20", lookback_days: 90, freshness_days: { spot: 30 } }\n`);
  expect(s.outcome).toBe('succeeded');
  const cand = read(s.folder, 'candidates.json');
  const vol = Object.fromEntries(cand.candidates.map((c: { symbol: string; volume_24h: number }) => [c.symbol, c.volume_24h]));
  const mean = (symbol: string) => {
    const qv = quoteVolumes(symbol);
    const days = Array.from({ length: 30 }, (_, k) => isoDay('2024-09-20', -k)).filter((d) => qv.has(d));
    return { n: days.length, mean: days.reduce((a, d) => a + qv.get(d)!, 0) / days.length };
  };
  const matic = mean('MATICUSDT');
  expect(matic.n).toBe(20); // 2024-08-22 .. 2024-09-10
  expect(Math.abs(vol.MATICUSDT / matic.mean - 1)).toBeLessThan(1e-12);
  const btc = mean('BTCUSDT');
  expect(btc.n).toBe(30);
  expect(Math.abs(vol.BTCUSDT / btc.mean - 1)).toBeLessThan(1e-12);
  // With the default freshness (3 days) MATIC is out on that date.
  const d = await runYaml('stale_liquidity_default', `pipeline: selection\nversion: "4.0"\nname: stale_liquidity_default\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, as_of: "2024-09-20", lookback_days: 90 }\n`);
  expect(read(d.folder, 'candidates.json').candidates.map((c: { symbol: string }) => c.symbol)).not.toContain('MATICUSDT');
});

test('a walk-forward backtest never holds a symbol after its last bar (each past decision discovers point in time)', async () => {
  const s = await runYaml('stale_backtest', `pipeline: selection\nversion: "4.0"\nname: stale_backtest\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 120 }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 60, test_window: 30, step_size: 30, workers: 1 }\n`);
  expect(s.outcome).toBe('succeeded');
  const w = tableFromIPC(readFileSync(join(s.folder, 'weights.arrow')));
  const dates = w.getChild('date')!.toArray() as Int32Array | number[];
  const syms = w.getChild('symbol')!.toArray() as string[];
  const last: Record<string, string> = { MATICUSDT: '2024-09-10', KLAYUSDT: '2024-10-30', FTMUSDT: '2025-01-13' };
  const dayMs = (x: number) => (x > 1e7 ? x : x * 86_400_000); // Date32 may come back as ms
  let maticHeld = 0;
  for (let i = 0; i < syms.length; i++) {
    const iso = new Date(dayMs(Number(dates[i]))).toISOString().slice(0, 10);
    if (last[syms[i]]) expect(iso <= isoDay(last[syms[i]], 3)).toBe(true);
    if (syms[i] === 'MATICUSDT') maticHeld++;
  }
  expect(maticHeld).toBeGreaterThan(0); // it was held while it traded
});
