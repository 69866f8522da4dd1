/**
 * A market with an asset that never moves, through the real runner (CSV scanner, clustering, allocation, backtest).
 * Found in review: D1 (a random walk) and K1 (a constant price) fall in two clusters, so the cluster cap is relaxed to
 * an equal share, 0.5, which allows exactly one portfolio (0.5/0.5); min_variance called it infeasible in every
 * backtest window (ALLOCATION_FAILED, exit 1) and, with a fallback declared, equal weight silently took over. The
 * reference weights are computed here: the portfolio variance w_D² var(D) (K1's returns are all 0) over a grid of
 * every feasible w_D. And when an engine does fail inside a backtest window, the error names that window's date.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { builtinRegistry } from '../../stages/index.js';

const DAYS = 120;
let tmp: string;
let closesD: number[];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-alloc-constant-'));
  let s = 5;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  let p = 100;
  closesD = [];
  for (let t = 0; t < DAYS; t++) {
    closesD.push(p);
    p *= 1 + 0.06 * (u() - 0.5);
  }
  const rows = closesD.map((c, t) => `${new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10)},${c.toFixed(6)},50`);
  writeFileSync(join(tmp, 'closes.csv'), ['date,D1,K1', ...rows].join('\n'));
  // An engine (a user's plugin module) that fails on a backtest window's short history, and works on the run's own.
  writeFileSync(join(tmp, 'plugins.js'), `export class FailsOnShortHistory {
  static meta = { kind: 'engine', name: 'fails_on_short_history', description: 'Equal weight, but only on 100 days or more.', needs: 'nothing', honours: ['groups'], longOnly: true, params: { type: 'object', additionalProperties: false, properties: {} } };
  run(p) {
    if (p.returns.days < 100) throw new Error('needs 100 days of returns, got ' + p.returns.days);
    return { weights: new Float64Array(p.n).fill(p.budget / p.n) };
  }
}
`);
}, 30_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(name: string, allocation: string) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(join(tmp, 'closes.csv'))}, layout: wide, asset_type: equity } } }\n  - type: clustering\n  - type: allocation\n    params: ${allocation}\n  - type: backtest\n    params: { train_window: 40, test_window: 20, step_size: 20, workers: 1 }\n`,
  );
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  const windows = () =>
    readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'window')
      .map((e) => e.data as { as_of: string; engine?: string; weights: { symbol: string; weight: number }[] });
  return { s, windows };
}

/** The minimum-variance D1 weight over a grid of the feasible interval [1 - cap, cap] (K1 holds the rest, at no risk). */
function referenceWeightOfD(cap: number): number {
  const r = closesD.slice(1).map((c, t) => c / closesD[t]! - 1);
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const variance = r.reduce((a, x) => a + (x - mean) ** 2, 0) / (r.length - 1);
  let best = NaN, least = Infinity;
  const lo = 1 - cap, steps = 10_000;
  for (let k = 0; k <= steps; k++) {
    const w = lo + ((cap - lo) * k) / steps;
    if (w * w * variance < least) { least = w * w * variance; best = w; }
  }
  return best;
}

const weightsOf = (ws: { symbol: string; weight: number }[]) => Object.fromEntries(ws.map((w) => [w.symbol, w.weight]));

test('two clusters relaxed to a cap of 0.5: min_variance holds the single feasible portfolio, 0.5/0.5, in every window', async () => {
  const { s, windows } = await run('point', '{ engine: min_variance }');
  expect(s.error).toBeUndefined();
  expect(s.outcome).toBe('succeeded');
  expect(referenceWeightOfD(0.5)).toBe(0.5);
  const ws = windows();
  expect(ws.length).toBeGreaterThanOrEqual(3);
  for (const w of ws) {
    expect(w.engine).toBe('min_variance');
    const x = weightsOf(w.weights);
    expect(Math.abs(x.D1! - 0.5)).toBeLessThan(1e-9);
    expect(Math.abs(x.K1! - 0.5)).toBeLessThan(1e-9);
  }
  const m = JSON.parse(readFileSync(join(s.folder, 'metrics.json'), 'utf8')).allocation;
  expect(m.cluster_cap).toMatchObject({ applied: 0.5, relaxed: true });
});

test('a cluster cap of 0.6: the never-moving asset takes its whole cap, as the grid reference says', async () => {
  const { s, windows } = await run('slab', '{ engine: min_variance, cluster_cap: 0.6 }');
  expect(s.error).toBeUndefined();
  const d = referenceWeightOfD(0.6);
  expect(d).toBeCloseTo(0.4, 12);
  for (const w of windows()) {
    const x = weightsOf(w.weights);
    expect(Math.abs(x.D1! - d)).toBeLessThan(1e-9);
    expect(Math.abs(x.K1! - (1 - d))).toBeLessThan(1e-9);
  }
});

test("an engine that fails inside a backtest window: ALLOCATION_FAILED names that window's decision date", async () => {
  const { s } = await run('fails', '{ engine: fails_on_short_history }');
  expect(s.outcome).toBe('failed');
  expect(s.error?.code).toBe('ALLOCATION_FAILED');
  // The first rebalance decides on the train_window-th day of data (2024-02-09), on a window of 40 days.
  expect(s.error?.message).toMatch(/^allocation as of 2024-02-09: every engine failed \(fails_on_short_history: needs 100 days of returns, got 40\)/);
});
