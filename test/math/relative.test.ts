/**
 * Benchmark-relative statistics, rolling statistics and monthly returns (src/math/metrics.ts) against numpy on real
 * data (test/math/fixtures/make_relative_fixtures.py: ETH on BTC, AAPL on SPY with a 2% risk-free rate), and beta
 * and alpha once more against an OLS fit written here (the normal equations of y = a + b x, solved by Cramer's rule).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchmarkRelative, monthlyReturns, rollingStats, type BenchmarkRelative } from '../../src/math/metrics.js';

const here = new URL('.', import.meta.url).pathname;
const fixtures = JSON.parse(readFileSync(join(here, 'fixtures', 'relative_reference.json'), 'utf8')) as Record<string, {
  dates: string[]; returns: number[]; benchmark: number[]; ppy: number; rf: number; expected: BenchmarkRelative;
  rolling90?: { volatility: (number | null)[]; sharpe: (number | null)[] }; monthly?: { month: string; return: number; days: number }[];
}>;
const close = (got: number, want: number, tol = 1e-10) => expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));

describe.each(Object.keys(fixtures))('against numpy (%s)', (name) => {
  const f = fixtures[name]!;
  test('beta, alpha, correlation, tracking error, information ratio', () => {
    const got = benchmarkRelative(f.returns, f.benchmark, f.ppy, f.rf);
    expect(got.days).toBe(f.expected.days);
    for (const k of ['beta', 'alpha', 'correlation', 'tracking_error', 'information_ratio'] as const) close(got[k], f.expected[k]);
  });

  test('beta and alpha are the slope and (annualised) intercept of an OLS fit of excess returns', () => {
    // Normal equations: [n Σx; Σx Σx²] [a; b] = [Σy; Σxy].
    const rfp = (1 + f.rf) ** (1 / f.ppy) - 1;
    const x = f.benchmark.map((v) => v - rfp);
    const y = f.returns.map((v) => v - rfp);
    const n = x.length;
    const sx = x.reduce((s, v) => s + v, 0);
    const sy = y.reduce((s, v) => s + v, 0);
    const sxx = x.reduce((s, v) => s + v * v, 0);
    const sxy = x.reduce((s, v, i) => s + v * y[i]!, 0);
    const det = n * sxx - sx * sx;
    const a = (sy * sxx - sx * sxy) / det;
    const b = (n * sxy - sx * sy) / det;
    const got = benchmarkRelative(f.returns, f.benchmark, f.ppy, f.rf);
    close(got.beta, b, 1e-9);
    close(got.alpha, a * f.ppy, 1e-9);
  });
});

test('rolling 90-day volatility and Sharpe against numpy on ETH', () => {
  const f = fixtures.eth_on_btc!;
  const got = rollingStats(f.returns, 90, 365, 0);
  f.rolling90!.volatility.forEach((v, t) => (v === null ? expect(got.volatility[t]).toBeNaN() : close(got.volatility[t]!, v)));
  f.rolling90!.sharpe.forEach((v, t) => (v === null ? expect(got.sharpe[t]).toBeNaN() : close(got.sharpe[t]!, v, 1e-9)));
});

test('monthly returns compound each calendar month, against numpy on ETH', () => {
  const f = fixtures.eth_on_btc!;
  const days = Int32Array.from(f.dates, (d) => Date.parse(`${d}T00:00:00Z`) / 86_400_000);
  const got = monthlyReturns(days, f.returns);
  expect(got.map((m) => `${m.year}-${String(m.month).padStart(2, '0')}`)).toEqual(f.monthly!.map((m) => m.month));
  got.forEach((m, i) => {
    expect(m.days).toBe(f.monthly![i]!.days);
    close(m.return, f.monthly![i]!.return, 1e-12);
  });
});

test('worked cases: NaN days are skipped, a benchmark equal to the portfolio has beta 1 and no tracking error', () => {
  const r = [0.01, NaN, -0.02, 0.03, 0.005];
  const rel = benchmarkRelative(r, r, 252);
  expect(rel.days).toBe(4);
  close(rel.beta, 1, 1e-14);
  close(rel.alpha, 0, 1e-14);
  expect(rel.tracking_error).toBe(0);
  expect(rel.information_ratio).toBeNaN();
  // A portfolio twice the benchmark plus 1 bp a day: beta 2, alpha 1 bp × 252.
  const b = [0.01, -0.02, 0.015, 0.003, -0.007];
  const two = benchmarkRelative(b.map((x) => 2 * x + 0.0001), b, 252);
  close(two.beta, 2, 1e-12);
  close(two.alpha, 0.0001 * 252, 1e-10);
  // 2024-01-31, 02-01, 02-02: two months, the NaN day skipped.
  const m = monthlyReturns(Int32Array.from([19753, 19754, 19755]), [0.1, NaN, 0.1]);
  expect(m.map((x) => [x.year, x.month, x.days])).toEqual([[2024, 1, 1], [2024, 2, 1]]);
  close(m[0]!.return, 0.1, 1e-15);
  close(m[1]!.return, 0.1, 1e-15);
  // A month with only NaN days: no return, zero days.
  expect(monthlyReturns(Int32Array.from([19753, 19754]), [NaN, 0.2])[0]).toEqual({ year: 2024, month: 1, return: 0, days: 0 });
});
