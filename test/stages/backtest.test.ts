/**
 * The walk-forward backtest through the real runner, on a small CSV market whose every number the test knows.
 * The expected path is recomputed here with dollar holdings (a different route from the simulator's weight
 * drift), and the decision stage records what it saw, to prove no decision sees a day after its as-of date.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { computeMetrics } from '../../src/math/metrics.js';
import { builtinRegistry } from '../../stages/index.js';

const here = new URL('.', import.meta.url).pathname;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-bt-'));
  // The pipelines load the test's plugin module from beside them: both live in the temporary folder, never in
  // the source tree.
  copyFileSync(join(here, 'fixtures', 'backtest', 'plugins.js'), join(tmp, 'plugins.js'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SYMBOLS = ['AAA', 'BBB', 'CCC'];
const DAYS = 61;
/** Deterministic daily returns; `crash` sends CCC to zero on that day. */
function market(crash?: number): { dates: string[]; prices: number[][]; returns: number[][] } {
  const dates = Array.from({ length: DAYS }, (_, t) => new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10));
  const returns = SYMBOLS.map((_, j) => Array.from({ length: DAYS }, (_, t) => (t === 0 ? NaN : crash !== undefined && j === 2 && t === crash ? -1 : 0.01 * Math.sin(t * (j + 1) * 0.7) + 0.002 * (j - 1))));
  const prices = SYMBOLS.map((_, j) => {
    let p = 100;
    return returns[j].map((r, t) => (t === 0 ? p : (p = p * (1 + r))));
  });
  return { dates, prices, returns };
}

function writeCsv(name: string, m: ReturnType<typeof market>): string {
  const file = join(tmp, `${name}.csv`);
  const rows = m.dates.map((d, t) => [d, ...SYMBOLS.map((_, j) => String(m.prices[j][t]))].join(','));
  writeFileSync(file, [['date', ...SYMBOLS].join(','), ...rows].join('\n'));
  return file;
}

async function run(name: string, csv: string, backtest: string, holdAll = '{}') {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } } }\n  - type: hold_all\n    params: ${holdAll}\n  - type: backtest\n    params: ${backtest}\n`,
  );
  try {
    const v = await validateFile(file, { registry: builtinRegistry(), dataRoots: [tmp] });
    expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The expected path with dollar holdings: rebalance at t = train-1, then every `step`, holding `test` days (to the
 * next rebalance at most); when the holding ends first, sell everything (charged) and sit in cash.
 */
function expected(m: ReturnType<typeof market>, train: number, step: number, rate: number, test = step): number[] {
  const T = DAYS;
  const rebal: number[] = [];
  for (let t = train - 1; t < T - 1; t += step) rebal.push(t);
  const out: number[] = [];
  let hold = [0, 0, 0];
  let cash = 1;
  for (let k = 0; k < rebal.length; k++) {
    const t = rebal[k];
    const last = k + 1 < rebal.length ? rebal[k + 1] : T - 1;
    const equity = hold.reduce((a, b) => a + b, 0) + cash;
    const alive = SYMBOLS.map((_, j) => m.prices[j][t] > 0);
    const n = alive.filter(Boolean).length;
    const target = alive.map((a) => (a ? 1 / n : 0));
    const turnover = target.reduce((a, w, j) => a + Math.abs(w - hold[j] / equity), 0);
    const after = equity * (1 - turnover * rate);
    hold = target.map((w) => w * after);
    cash = after - hold.reduce((a, b) => a + b, 0);
    let prev = equity;
    const held = Math.min(t + test, last);
    for (let d = t + 1; d <= last; d++) {
      if (d <= held) hold = hold.map((h, j) => h * (1 + m.returns[j][d]));
      if (d === held && held < last) {
        // Sell the book: traded notional = everything held, charged at the cost rate.
        const gross = hold.reduce((a, b) => a + Math.abs(b), 0);
        cash += hold.reduce((a, b) => a + b, 0) - gross * rate;
        hold = hold.map(() => 0);
      }
      const e = Math.max(0, hold.reduce((a, b) => a + b, 0) + cash);
      out.push(prev > 0 ? e / prev - 1 : 0);
      prev = e;
    }
  }
  return out;
}

test('returns, costs and drift match a dollar-holdings recomputation; metrics match the saved returns', async () => {
  const m = market();
  const s = await run('bt_plain', writeCsv('plain', m), '{ train_window: 20, test_window: 10, step_size: 10, slippage_bps: 5, commission_bps: 1 }');
  expect(s.outcome).toBe('succeeded');
  const table = tableFromIPC(readFileSync(join(s.folder, 'returns.arrow')));
  const got = Array.from(table.getChild('return')!.toArray() as Float64Array);
  const want = expected(m, 20, 10, 6e-4);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-12));
  const metrics = JSON.parse(readFileSync(join(s.folder, 'metrics.json'), 'utf8')).backtest;
  const again = computeMetrics(got, 252);
  expect(metrics.sharpe).toBeCloseTo(again.sharpe, 12);
  expect(metrics.cagr).toBeCloseTo(again.cagr, 12);
  expect(metrics.max_drawdown).toBeCloseTo(again.max_drawdown, 12);
  expect(metrics.verification.every((v: { agrees: boolean }) => v.agrees)).toBe(true);
  expect(metrics.windows).toBe(5);
  // The first window trades from cash: turnover 1, cost 6 bps.
  const audit = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const w0 = audit.find((e) => e.event === 'window' && e.data.window === 0).data;
  expect(w0.turnover).toBeCloseTo(1, 12);
  expect(w0.cost).toBeCloseTo(6e-4, 15);
  expect(w0.as_of).toBe('2024-01-20');
  // weights.json holds the last rebalance's weights.
  expect(JSON.parse(readFileSync(join(s.folder, 'weights.json'), 'utf8')).map((w: { weight: number }) => w.weight)).toEqual([1 / 3, 1 / 3, 1 / 3]);
});

test('a holding period shorter than the step: the exit is charged and the gap is cash', async () => {
  const m = market();
  const s = await run('bt_gap', writeCsv('gap', m), '{ train_window: 20, test_window: 4, step_size: 10, slippage_bps: 5, commission_bps: 1 }');
  expect(s.outcome).toBe('succeeded');
  const got = Array.from(tableFromIPC(readFileSync(join(s.folder, 'returns.arrow'))).getChild('return')!.toArray() as Float64Array);
  const want = expected(m, 20, 10, 6e-4, 4);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-12));
  const metrics = JSON.parse(readFileSync(join(s.folder, 'metrics.json'), 'utf8')).backtest;
  expect(metrics.weights_as_of).toBe('2024-03-01'); // the last day: weights.json is decided as of the as-of date
  // Four windows trade in and out (2.0 each); the last is held to the end (1.0): mean 1.8.
  expect(metrics.turnover).toBeCloseTo(1.8, 12);
});

test('no decision sees a day after its as-of date', async () => {
  const record = join(tmp, 'seen.jsonl');
  const s = await run('bt_pit', writeCsv('pit', market()), '{ train_window: 15, test_window: 7, step_size: 7 }', `{ record: ${JSON.stringify(record)} }`);
  expect(s.outcome).toBe('succeeded');
  const seen = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { as_of: number; last_seen: number; days: number });
  expect(seen.length).toBeGreaterThan(5); // the main run plus one replay per window
  for (const x of seen) expect(x.last_seen).toBe(x.as_of);
  for (const x of seen.slice(1)) expect(x.days).toBe(15);
});

test('a window whose equity reaches zero is liquidated and stays at zero', async () => {
  // A short book (gross -1) loses everything when the shorted names triple; simpler: a long book where one
  // name goes to zero cannot wipe out an equal-weight book, so lever it: gross 3 on three names, one crashes.
  const m = market(33);
  const csv = writeCsv('crash', { ...m, prices: m.prices.map((p, j) => (j === 2 ? p.map((x, t) => (t >= 33 ? 1e-9 : x)) : p)) });
  const file = join(tmp, 'bt_crash.yaml');
  writeFileSync(file, `pipeline: selection\nversion: "4.0"\nname: bt_crash\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } } }\n  - type: hold_all\n    params: { gross: 3 }\n  - type: backtest\n    params: { train_window: 20, test_window: 10, step_size: 10 }\n`);
  const v = await validateFile(file, { registry: builtinRegistry(), dataRoots: [tmp] });
  rmSync(file);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  expect(s.outcome).toBe('succeeded');
  const r = Array.from(tableFromIPC(readFileSync(join(s.folder, 'returns.arrow'))).getChild('return')!.toArray() as Float64Array);
  const wipe = r.indexOf(-1);
  expect(wipe).toBeGreaterThan(0);
  expect(r.slice(wipe + 1).every((x) => x === 0)).toBe(true);
  const metrics = JSON.parse(readFileSync(join(s.folder, 'metrics.json'), 'utf8')).backtest;
  expect(metrics).toMatchObject({ liquidated: true, max_drawdown: -1, cagr: -1 });
});

test('the same config and data give the same weights and metrics, byte for byte', async () => {
  const csv = writeCsv('det', market());
  const a = await run('bt_det', csv, '{ train_window: 20, test_window: 10, step_size: 10 }');
  const b = await run('bt_det', csv, '{ train_window: 20, test_window: 10, step_size: 10 }');
  for (const f of ['weights.json', 'metrics.json', 'returns.arrow', 'equity.arrow']) expect(readFileSync(join(a.folder, f))).toEqual(readFileSync(join(b.folder, f)));
});

describe('a decision date on which the policy lets nothing through', () => {
  // Real stages on the seeded synthetic market. The first rebalance sees train_window rows, whose first day has
  // no return, so every symbol has train_window - 1 returns: darwinian (hard) vetoes all of them there, and
  // only there (later windows read the day before too).
  const pipeline = (backtest: boolean) =>
    `pipeline: selection\nversion: "4.0"\nname: bt_cash\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 12, days: 160, seed: 7 } }, lookback_days: 60 }\n  - type: feature_engineering\n    params: { lookback: 30 }\n  - type: inference\n    params: { rankers: [mps] }\n  - type: policy\n    params: { filters: [{ name: darwinian, params: { min_history_days: ${backtest ? 60 : 10000} } }], min_winners: 3 }\n  - type: synthesis\n  - type: allocation\n    params: { engine: equal_weight }\n` +
    (backtest ? '  - type: backtest\n    params: { train_window: 60, test_window: 20, step_size: 20 }\n' : '');
  async function runText(name: string, text: string) {
    const file = join(tmp, `${name}.yaml`);
    writeFileSync(file, text);
    const v = await validateFile(file, { registry: builtinRegistry(), dataRoots: [tmp] });
    expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  }

  test('in a backtest that window holds cash, recorded with its reason; the run goes on', async () => {
    const s = await runText('bt_cash', pipeline(true));
    expect(s.error).toBeUndefined();
    expect(s.outcome).toBe('succeeded');
    const windows = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'window').map((e) => e.data);
    expect(windows.length).toBeGreaterThan(3);
    expect(windows[0]).toMatchObject({ winners: 0, holdings: 0, return: 0, turnover: 0, cash_reason: 'no winners' });
    const invested = windows.slice(1);
    expect(invested.every((w) => w.holdings > 0 && w.cash_reason === undefined)).toBe(true);
  });

  test('in a plain run it fails with NO_WINNERS, not a message about returns', async () => {
    const s = await runText('bt_none', pipeline(false));
    expect(s.outcome).toBe('failed');
    expect(s.error).toMatchObject({ code: 'NO_WINNERS' });
    expect(s.error!.message).toMatch(/no winners/);
  });
});
