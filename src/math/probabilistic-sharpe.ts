/**
 * The probabilistic Sharpe ratio (Bailey & López de Prado 2012, "The Sharpe Ratio Efficient Frontier") and the
 * deflated Sharpe ratio (Bailey & López de Prado 2014), on per-period quantities:
 *
 *   PSR(SR*) = Φ( (SR − SR*) √(n − 1) / √(1 − γ3 SR + (γ4 − 1)/4 SR²) )
 *   SR0      = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))),  γ = Euler–Mascheroni;  DSR = PSR(SR0)
 *
 * SR is the per-period sample Sharpe (mean / std, ddof 1, never annualised), n the number of returns, γ3 the
 * sample skewness and γ4 the raw kurtosis (normal = 3), both population moments (m3/m2^1.5, m4/m2²); V is the
 * variance (ddof 1) of the N trials' per-period Sharpe ratios. Checked against the papers' examples as pypbo's tests
 * encode them (PSR 0.913234306884860, DSR 0.900396834449390; test/math/probabilistic-sharpe.test.ts).
 */
import { normalCdf, normalQuantile } from './normal.js';

export const EULER_GAMMA = 0.5772156649015329;

export interface SampleMoments {
  n: number;
  mean: number;
  /** Standard deviation, ddof 1. */
  std: number;
  /** Per-period Sharpe ratio: mean / std. */
  sharpe: number;
  /** Population skewness m3 / m2^1.5. */
  skew: number;
  /** Population raw kurtosis m4 / m2² (3 for a normal). */
  kurtosis: number;
}

export function sampleMoments(x: ArrayLike<number>): SampleMoments {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const std = n > 1 ? Math.sqrt(m2 / (n - 1)) : NaN;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, mean, std, sharpe: std > 0 ? mean / std : NaN, skew: m2 > 0 ? m3 / m2 ** 1.5 : NaN, kurtosis: m2 > 0 ? m4 / (m2 * m2) : NaN };
}

/** PSR(SR*): the probability that the true per-period Sharpe ratio exceeds `srStar`, given n returns with these moments. */
export function probabilisticSharpe(sr: number, n: number, skew: number, kurtosis: number, srStar = 0): number {
  const v = 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
  if (!(v > 0) || n < 2) return NaN;
  return normalCdf(((sr - srStar) * Math.sqrt(n - 1)) / Math.sqrt(v));
}

/** E[max of N independent standard normals], the extreme-value approximation of Bailey & López de Prado (2014). */
export function expectedMaxZ(trials: number): number {
  if (trials <= 1) return 0;
  return (1 - EULER_GAMMA) * normalQuantile(1 - 1 / trials) + EULER_GAMMA * normalQuantile(1 - 1 / (trials * Math.E));
}

/** SR0: the Sharpe ratio the best of N trials reaches by luck alone, when their Sharpe ratios vary by `variance`. */
export const deflatedThreshold = (trials: number, variance: number): number => (trials <= 1 || !(variance > 0) ? 0 : Math.sqrt(variance) * expectedMaxZ(trials));

/** DSR = PSR(SR0): the PSR of the selected strategy against what its N trials would reach by luck. */
export const deflatedSharpe = (sr: number, n: number, skew: number, kurtosis: number, trials: number, variance: number): number =>
  probabilisticSharpe(sr, n, skew, kurtosis, deflatedThreshold(trials, variance));

/** The minimum track record length (in periods) for PSR(SR*) to reach `probability`. */
export function minTrackRecordLength(sr: number, skew: number, kurtosis: number, srStar = 0, probability = 0.95): number {
  return 1 + (1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr) * (normalQuantile(probability) / (sr - srStar)) ** 2;
}

/** The sample variance (ddof 1) of the trials' per-period Sharpe ratios (the finite ones). */
export function sharpeVariance(sharpes: ArrayLike<number>): number {
  const x = Array.from(sharpes).filter(Number.isFinite);
  if (x.length < 2) return 0;
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1);
}
