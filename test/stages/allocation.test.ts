/**
 * The allocation stage end to end through the runner on PyPortfolioOpt's own test prices, against reference
 * numbers computed independently (test/stages/fixtures/allocation/generate_reference.py: numpy + scipy, KKT-polished
 * QPs) and PyPortfolioOpt's published results (tests/test_hrp.py, test_efficient_frontier.py, weights_hrp.csv).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR } from '../data.js';

const REF = JSON.parse(readFileSync(new URL('./fixtures/allocation/reference.json', import.meta.url), 'utf8'));
const CSV = join(DATA_DIR, 'pypfopt', 'stock_prices.csv');

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'fractal-alloc-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(name: string, allocation: string) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, `pipeline: selection\nversion: "4.0"\nname: ${name}\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(CSV)}, layout: wide } } }\n  - type: allocation\n    params: ${allocation}\n`);
  const v = await validateFile(file, { registry: builtinRegistry(), dataRoots: [DATA_DIR] });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const r = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lh') });
  const read = (f: string) => JSON.parse(readFileSync(join(r.folder, f), 'utf8'));
  return { r, read };
}

function weightsBySymbol(weights: { symbol: string; weight: number }[]): Record<string, number> {
  return Object.fromEntries(weights.map((w) => [w.symbol, w.weight]));
}

function maxDev(got: Record<string, number>, symbols: string[], ref: number[]): number {
  return Math.max(...symbols.map((s, i) => Math.abs(got[s]! - ref[i]!)));
}

const PAIRWISE = 'covariance: { estimator: sample, missing: pairwise }';

test('hrp (single linkage, pairwise sample covariance, all history) equals PyPortfolioOpt published weights to 1e-12', async () => {
  const { r, read } = await run('hrp', `{ engine: { name: hrp, params: { linkage: single } }, ${PAIRWISE} }`);
  expect(r.outcome).toBe('succeeded');
  const w = weightsBySymbol(read('weights.json'));
  const published = REF.published.hrp_weights as Record<string, number>;
  for (const [s, x] of Object.entries(published)) expect(Math.abs(w[s]! - x)).toBeLessThan(1e-12);
  expect(maxDev(w, REF.symbols, REF.hrp_single.weights)).toBeLessThan(1e-12);
  const m = read('metrics.json').allocation;
  expect(m.engine).toBe('hrp');
  expect(m.diagnostics.order.slice(0, 5)).toEqual(REF.published.hrp_quasi_diag_first5.map((i: number) => REF.symbols[i]));
  expect(Object.values(w).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
});

test('min_variance with CAGR returns matches the reference weights and PyPortfolioOpt published performance to 1e-6', async () => {
  const { read } = await run('minvol', `{ engine: min_variance, ${PAIRWISE}, expected_returns: { method: cagr }, periods_per_year: 252, risk_free_rate: 0.02 }`);
  const w = weightsBySymbol(read('weights.json'));
  expect(maxDev(w, REF.symbols, REF.min_volatility.weights)).toBeLessThan(1e-8);
  const m = read('metrics.json').allocation;
  const pub = REF.published.min_volatility_performance;
  expect(Math.abs(m.expected_return - pub[0])).toBeLessThan(1e-9);
  expect(Math.abs(m.volatility - pub[1])).toBeLessThan(1e-9);
  expect(Math.abs(m.sharpe - pub[2])).toBeLessThan(1e-8);
});

test('max_sharpe (rf 0.02, CAGR) matches the reference weights and PyPortfolioOpt published performance to 1e-6', async () => {
  const { read } = await run('maxsharpe', `{ engine: max_sharpe, ${PAIRWISE}, expected_returns: { method: cagr }, risk_free_rate: 0.02 }`);
  const w = weightsBySymbol(read('weights.json'));
  expect(maxDev(w, REF.symbols, REF.max_sharpe.weights)).toBeLessThan(1e-8);
  const m = read('metrics.json').allocation;
  const pub = REF.published.max_sharpe_performance;
  expect(Math.abs(m.expected_return - pub[0])).toBeLessThan(1e-8);
  expect(Math.abs(m.volatility - pub[1])).toBeLessThan(1e-8);
  expect(Math.abs(m.sharpe - pub[2])).toBeLessThan(1e-7);
});

test('risk_parity: equal risk contributions to 1e-9 and the reference ERC weights', async () => {
  const { read } = await run('erc', `{ engine: risk_parity, ${PAIRWISE} }`);
  const m = read('metrics.json').allocation;
  for (const rc of Object.values(m.risk_contributions) as number[]) expect(Math.abs(rc - 1 / 20)).toBeLessThan(1e-9);
  expect(maxDev(weightsBySymbol(read('weights.json')), REF.symbols, REF.erc_sample.weights)).toBeLessThan(1e-9);
});

test('caps below 1/N are a clear error, or the declared fallback runs and is recorded', async () => {
  const bad = await run('capbad', `{ engine: hrp, bounds: [0, 0.04] }`);
  expect(bad.r.outcome).toBe('failed');
  expect(bad.r.error?.code).toBe('CAPS_BELOW_BUDGET');
  const unknown = await run('unknown', `{ engine: hrp, symbol_bounds: { NOPE: [0, 0.1] } }`);
  expect(unknown.r.error?.code).toBe('UNKNOWN_SYMBOL');
  const fb = await run('fallback', `{ engine: { name: efficient_return, params: { target_return: 5 } }, fallback: [min_variance, equal_weight] }`);
  expect(fb.r.outcome).toBe('succeeded');
  const m = fb.read('metrics.json').allocation;
  expect(m.engine).toBe('min_variance');
  expect(m.fallback_used).toBe(true);
  expect(m.attempts[0].engine).toBe('efficient_return');
});

test('hrp with a per-asset cap holds it inside the bisection', async () => {
  const { read } = await run('hrpcap', `{ engine: hrp, ${PAIRWISE}, bounds: [0, 0.08] }`);
  const w = read('weights.json') as { weight: number }[];
  expect(Math.max(...w.map((x) => x.weight))).toBeLessThanOrEqual(0.08 + 1e-12);
  expect(w.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(1, 12);
});
