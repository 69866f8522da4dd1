/**
 * The Ledoit–Wolf (2008) HAC test of a Sharpe-ratio difference against the research note's reference values (§4:
 * an independent Python implementation following the authors' R code, on the crypto data) and against a literal
 * implementation written here (the non-prewhitened Parzen estimator, element by element), plus its size on null
 * pairs.
 *
 * "The research note": the reference values a session computed with independent Python implementations (numpy,
 * scipy; arch for the bootstrap) when this test was written, kept in its notes, not in the repository; a review on
 * 2026-12-01 reproduced every one of them with implementations of its own (docs/tournaments.md).
 */
import { Rng } from '../../src/math/rng.js';
import { sharpeDifferenceTest } from '../../src/math/sharpe-difference.js';
import { alignedCryptoReturns } from './stats-helpers.js';

const { columns } = alignedCryptoReturns(['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT'], true);
const [BTC, ETH, , , EW4] = columns;

/** Parzen HAC, not prewhitened, written from the formulas with plain arrays. */
function literalHac(r1: Float64Array, r2: Float64Array) {
  const T = r1.length;
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
  const a = Array.from(r1), b = Array.from(r2);
  const m1 = mean(a), m2 = mean(b);
  const q1 = mean(a.map((x) => x * x)), q2 = mean(b.map((x) => x * x));
  const sd = (x: number[], m: number) => Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1));
  const delta = m1 / sd(a, m1) - m2 / sd(b, m2);
  const grad = [q1 / (q1 - m1 * m1) ** 1.5, -q2 / (q2 - m2 * m2) ** 1.5, -m1 / (2 * (q1 - m1 * m1) ** 1.5), m2 / (2 * (q2 - m2 * m2) ** 1.5)];
  const y = a.map((_, t) => [a[t] - m1, b[t] - m2, a[t] * a[t] - q1, b[t] * b[t] - q2]);
  const G = (j: number) => [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((k) => { let s = 0; for (let t = j; t < T; t++) s += y[t][i] * y[t - j][k]; return s / T; }));
  // Andrews' bandwidth from per-column AR(1) fits with intercept.
  let num = 0, den = 0;
  for (let i = 0; i < 4; i++) {
    const xs = y.slice(0, -1).map((r) => r[i]), ys = y.slice(1).map((r) => r[i]);
    const mx = mean(xs), my = mean(ys);
    const rho = xs.reduce((s, x, t) => s + (x - mx) * (ys[t] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const s2 = mean(ys.map((v, t) => (v - (my - rho * mx) - rho * xs[t]) ** 2));
    num += (4 * rho * rho * s2 * s2) / (1 - rho) ** 8;
    den += (s2 * s2) / (1 - rho) ** 4;
  }
  const S = Math.min(2.6614 * ((num / den) * T) ** 0.2, T - 1);
  const k = (x: number) => (x <= 0.5 ? 1 - 6 * x * x + 6 * x ** 3 : x <= 1 ? 2 * (1 - x) ** 3 : 0);
  let psi = G(0);
  for (let j = 1; j < S; j++) { const g = G(j); psi = psi.map((row, i) => row.map((v, c) => v + k(j / S) * (g[i][c] + g[c][i]))); }
  let q = 0;
  for (let i = 0; i < 4; i++) for (let c = 0; c < 4; c++) q += grad[i] * (psi[i][c] * T / (T - 4)) * grad[c];
  return { delta, se: Math.sqrt(q / T), S };
}

describe('Ledoit-Wolf HAC test on the crypto data (T = 998; research note §4)', () => {
  test.each([
    ['BTC - ETH', BTC, ETH, 0.02890241, 0.01830949, 4.369417, 0.11444, 0.0182142, 3.120272, 0.112556],
    ['ETH - EW4', ETH, EW4, -0.02434948, 0.01446425, 4.591683, 0.092293, 0.01424193, 3.978153, 0.087321],
    ['BTC - EW4', BTC, EW4, 0.00455293, 0.01505822, 4.313297, 0.762381, 0.01527779, 2.863246, 0.765696],
  ])('%s', (_name, a, b, delta, se, S, p, sePw, Spw, pPw) => {
    const plain = sharpeDifferenceTest(a, b, { prewhiten: false });
    expect(plain.delta).toBeCloseTo(delta, 8);
    expect(plain.se).toBeCloseTo(se, 8);
    expect(plain.bandwidth).toBeCloseTo(S, 6);
    expect(plain.p).toBeCloseTo(p, 6);
    const lit = literalHac(a, b);
    expect(Math.abs(lit.se - plain.se)).toBeLessThan(1e-12);
    expect(Math.abs(lit.S - plain.bandwidth)).toBeLessThan(1e-9);
    const pw = sharpeDifferenceTest(a, b, { prewhiten: true });
    expect(pw.delta).toBe(plain.delta);
    expect(pw.se).toBeCloseTo(sePw, 8);
    expect(pw.bandwidth).toBeCloseTo(Spw, 6);
    expect(pw.p).toBeCloseTo(pPw, 6);
  });
  test('a strategy against itself: no difference; a scaled copy (collinear moments) falls back to the plain estimator', () => {
    const t = sharpeDifferenceTest(BTC, BTC, { prewhiten: true });
    expect(t.delta).toBe(0);
    expect(t.p).toBe(1);
    const half = BTC.map((x) => x / 2);
    const h = sharpeDifferenceTest(half, BTC, { prewhiten: true });
    expect(Math.abs(h.delta)).toBeLessThan(1e-12);
    expect(h.prewhitened).toBe(false);
    expect(h.p).toBeGreaterThan(0.99);
  });
});

test('size: about 5% of 200 null pairs (independent iid series, equal Sharpe) reject at 5%', () => {
  const rng = new Rng(2024);
  let rejected = 0;
  for (let k = 0; k < 200; k++) {
    const a = Float64Array.from({ length: 400 }, () => 0.001 + 0.02 * rng.normal());
    const b = Float64Array.from({ length: 400 }, () => 0.001 + 0.02 * rng.normal());
    if (sharpeDifferenceTest(a, b, { prewhiten: true }).p <= 0.05) rejected++;
  }
  // Binomial(200, 0.05): 99.9% of counts fall in 2..21.
  expect(rejected).toBeGreaterThanOrEqual(2);
  expect(rejected).toBeLessThanOrEqual(21);
});
