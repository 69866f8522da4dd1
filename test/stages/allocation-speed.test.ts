/**
 * The fast efficient_risk (piecewise Newton on the frontier with warm-started QPs) and risk_parity (Newton) engines
 * against the methods they replaced: the volatility target is hit to 1e-12 and the weights agree with a cold-start
 * bisection; ERC contributions are equal. No timings here (see bench/allocation.ts).
 */
import { portfolioVariance, qpConstraints, violation, type AllocationProblem } from '../../src/portfolio/engine.js';
import { EfficientRiskEngine } from '../../stages/allocation/engines/efficient-risk.engine.js';
import { MinVarianceEngine } from '../../stages/allocation/engines/min-variance.engine.js';
import { RiskParityEngine } from '../../stages/allocation/engines/risk-parity.engine.js';
import { regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { solveQP } from '../../src/math/qp.js';
import { riskContributions, riskParityCCD } from '../../src/math/risk-parity.js';

function universe(n: number, seed: number, caps: boolean): AllocationProblem {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const T = 2 * n + 50, k = 5;
  const F = Float64Array.from({ length: k * T }, normal);
  const X = new Float64Array(n * T);
  for (let i = 0; i < n; i++) {
    const load = Array.from({ length: k }, normal);
    for (let t = 0; t < T; t++) { let v = normal(); for (let f = 0; f < k; f++) v += load[f]! * F[f * T + t]! / 2; X[i * T + t] = 0.0004 + 0.01 * v; }
  }
  const mu = new Float64Array(n), cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++) { let m = 0; for (let t = 0; t < T; t++) m += X[i * T + t]!; mu[i] = m / T; }
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let v = 0;
    for (let t = 0; t < T; t++) v += (X[i * T + t]! - mu[i]!) * (X[j * T + t]! - mu[j]!);
    cov[i * n + j] = cov[j * n + i] = (252 * v) / (T - 1);
  }
  for (let i = 0; i < n; i++) mu[i] = mu[i]! * 252;
  const groups = caps ? Array.from({ length: 10 }, (_, l) => ({ name: `c${l}`, members: Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 === l), cap: 0.15 })) : [];
  return {
    symbols: Array.from({ length: n }, (_, i) => `S${i}`), n, cov: regulariseCovariance(cov, n).cov, mu, corr: new Float64Array(n * n), riskFreeRate: 0, budget: 1,
    lb: new Float64Array(n), ub: new Float64Array(n).fill(caps ? 1 : Math.max(0.05, 3 / n)), groups, linear: [],
  };
}

/** The previous engine: bisection on t with cold QP solves, to 1e-10 relative (volatility at or below the target). */
function bisection(p: AllocationProblem, target: number): { x: Float64Array; vol: number } {
  const c = qpConstraints(p);
  const solve = (t: number) => {
    const x = solveQP({ n: p.n, Q: p.cov, c: Float64Array.from(p.mu, (m) => -t * m), ...c }).x;
    return { x, vol: Math.sqrt(portfolioVariance(p.cov, p.n, x)) };
  };
  let hi = 1, high = solve(hi);
  for (let k = 0; k < 60 && high.vol < target; k++) { hi *= 2; const next = solve(hi); if (Math.abs(next.vol - high.vol) < 1e-14) { high = next; break; } high = next; }
  if (high.vol <= target) return high;
  let lo = 0, best = solve(0);
  for (let k = 0; k < 200 && hi - lo > 1e-14 * hi; k++) {
    const mid = (lo + hi) / 2, s = solve(mid);
    if (s.vol <= target) { lo = mid; best = s; } else hi = mid;
    if (Math.abs(s.vol - target) <= 1e-10 * target && s.vol <= target) break;
  }
  return best;
}

test.each([[60, false], [60, true], [150, false], [150, true]])('efficient_risk hits the target to 1e-12 and matches the bisection (n = %i, caps %s)', (n, caps) => {
  const p = universe(n as number, 100 + (n as number), caps as boolean);
  const minVol = Math.sqrt(portfolioVariance(p.cov, p.n, new MinVarianceEngine().run(p).weights));
  // the largest-return end's volatility: above it the target is out of reach
  const maxVol = Math.sqrt(portfolioVariance(p.cov, p.n, bisection(p, 1e9).x));
  for (const target of [minVol * 1.0001, minVol * 1.1, (minVol + maxVol) / 2, maxVol * 0.999, maxVol * 2]) {
    const r = new EfficientRiskEngine().run(p, { target_volatility: target });
    const vol = Math.sqrt(portfolioVariance(p.cov, p.n, r.weights));
    expect(violation(p, r.weights)).toBeLessThanOrEqual(1e-12);
    const ref = bisection(p, target);
    if (target < maxVol) expect(Math.abs(vol - target)).toBeLessThanOrEqual(1e-12 * target);
    else expect(Math.abs(vol - ref.vol)).toBeLessThanOrEqual(1e-12 * ref.vol);
    expect(r.diagnostics!.solves as number).toBeLessThan(40);
    // the bisection stops 1e-10 short of the target; the weights differ by that much times the frontier's slope
    for (let i = 0; i < p.n; i++) expect(Math.abs(r.weights[i]! - ref.x[i]!)).toBeLessThan(1e-7);
  }
});

test('efficient_risk: a target below the minimum volatility is an error', () => {
  const p = universe(40, 5, false);
  const minVol = Math.sqrt(portfolioVariance(p.cov, p.n, new MinVarianceEngine().run(p).weights));
  expect(() => new EfficientRiskEngine().run(p, { target_volatility: minVol * 0.99 })).toThrow(/minimum volatility/);
});

test('risk_parity at n = 300: the coordinate descent\'s weights, equal contributions, budgets honoured', () => {
  const p = { ...universe(300, 9, false), ub: new Float64Array(300).fill(1) };
  const erc = new RiskParityEngine().run(p, {});
  expect(erc.diagnostics!.projected).toBe(false);
  const ref = riskParityCCD(p.cov, p.n);
  for (let i = 0; i < p.n; i++) expect(Math.abs(erc.weights[i]! - ref.weights[i]!)).toBeLessThan(1e-10 * ref.weights[i]!);
  for (const rc of riskContributions(p.cov, p.n, erc.weights)) expect(Math.abs(rc - 1 / 300)).toBeLessThan(1e-12);
  const given = Object.fromEntries(p.symbols.map((s, i) => [s, 1 + (i % 4)]));
  const total = p.symbols.reduce((a, s) => a + given[s]!, 0);
  const rb = new RiskParityEngine().run(p, { budgets: given });
  const rcb = riskContributions(p.cov, p.n, rb.weights);
  p.symbols.forEach((s, i) => expect(Math.abs(rcb[i]! - given[s]! / total)).toBeLessThan(1e-12));
});
