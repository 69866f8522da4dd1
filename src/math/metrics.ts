/**
 * Performance metrics of a daily return series, in one module (docs/math.md, "Metrics"). Conventions:
 * simple returns; annualisation by `periodsPerYear` (365 crypto, 252 otherwise); sample standard deviation
 * (ddof = 1); the risk-free rate is annual and converted to a per-period rate geometrically; drawdowns are of
 * the compounded equity curve starting at 1, reported as negative fractions. A NaN day is a day with no
 * position, not a zero return: it is left out. The kernels shared with the features (finite values, volatility,
 * drawdown) come from features.ts.
 *
 * `verifyMetrics` recomputes Sharpe, CAGR and max drawdown by a second, independent route (log-space sums,
 * Welford's online variance, a drawdown scan over log equity) and reports any disagreement (seed CR-750).
 */
import { annualisedVolatility, finiteValues, maxDrawdown as maxLoss } from './features.js';

export interface Metrics {
  days: number;
  total_return: number;
  cagr: number;
  volatility: number;
  sharpe: number;
  sortino: number;
  max_drawdown: number;
  calmar: number;
  hit_rate: number;
  best_day: number;
  worst_day: number;
}


export const periodRate = (annual: number, periodsPerYear: number) => Math.pow(1 + annual, 1 / periodsPerYear) - 1;

export function totalReturn(r: ArrayLike<number>): number {
  let g = 1;
  for (let i = 0; i < r.length; i++) if (Number.isFinite(r[i])) g *= 1 + r[i];
  return g - 1;
}

/** Compound annual growth: (Π(1 + r))^(periodsPerYear / n) − 1; −1 once the equity is wiped out. */
export function cagr(r: ArrayLike<number>, periodsPerYear: number): number {
  const x = finiteValues(r);
  if (!x.length) return NaN;
  const g = 1 + totalReturn(x);
  return g <= 0 ? -1 : Math.pow(g, periodsPerYear / x.length) - 1;
}

function meanStd(x: Float64Array): { mean: number; std: number } {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN };
}

/** Annualised volatility (the feature kernel): sample std of the finite days × sqrt(periodsPerYear). */
export const annualVolatility = annualisedVolatility;

/** Annualised Sharpe: mean excess per-period return over its sample std, × sqrt(periodsPerYear). */
export function sharpe(r: ArrayLike<number>, periodsPerYear: number, riskFree = 0): number {
  const rf = periodRate(riskFree, periodsPerYear);
  const x = finiteValues(r).map((v) => v - rf);
  const { mean, std } = meanStd(x);
  return std > 0 ? (mean / std) * Math.sqrt(periodsPerYear) : NaN;
}

/** Annualised Sortino: mean excess return over the downside deviation sqrt(mean(min(0, r − rf)²)) (target rf). */
export function sortino(r: ArrayLike<number>, periodsPerYear: number, riskFree = 0): number {
  const rf = periodRate(riskFree, periodsPerYear);
  const x = finiteValues(r);
  if (!x.length) return NaN;
  let s = 0;
  let down = 0;
  for (let i = 0; i < x.length; i++) {
    const e = x[i] - rf;
    s += e;
    if (e < 0) down += e * e;
  }
  const dd = Math.sqrt(down / x.length);
  return dd > 0 ? (s / x.length / dd) * Math.sqrt(periodsPerYear) : NaN;
}

/** Equity curve starting at 1 (NaN days carry the previous value). */
export function equityCurve(r: ArrayLike<number>): Float64Array {
  const out = new Float64Array(r.length);
  let e = 1;
  for (let i = 0; i < r.length; i++) {
    if (Number.isFinite(r[i])) e *= 1 + r[i];
    out[i] = e;
  }
  return out;
}

/** Drawdown series of the compounded equity: e / running max − 1 (≤ 0). */
export function drawdownSeries(r: ArrayLike<number>): Float64Array {
  const eq = equityCurve(r);
  const out = new Float64Array(eq.length);
  let peak = 1;
  for (let i = 0; i < eq.length; i++) {
    if (eq[i] > peak) peak = eq[i];
    out[i] = eq[i] / peak - 1;
  }
  return out;
}

/** Maximum drawdown as a negative fraction (0 for an empty series): the feature kernel's loss, signed. */
export function maxDrawdown(r: ArrayLike<number>): number {
  const loss = maxLoss(r);
  return Number.isNaN(loss) ? 0 : 0 - loss;
}

export function hitRate(r: ArrayLike<number>): number {
  const x = finiteValues(r);
  if (!x.length) return NaN;
  let up = 0;
  for (let i = 0; i < x.length; i++) if (x[i] > 0) up++;
  return up / x.length;
}

export function computeMetrics(r: ArrayLike<number>, periodsPerYear: number, riskFree = 0): Metrics {
  const x = finiteValues(r);
  const c = cagr(x, periodsPerYear);
  const mdd = maxDrawdown(x);
  let best = -Infinity;
  let worst = Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > best) best = x[i];
    if (x[i] < worst) worst = x[i];
  }
  return {
    days: x.length,
    total_return: totalReturn(x),
    cagr: c,
    volatility: annualVolatility(x, periodsPerYear),
    sharpe: sharpe(x, periodsPerYear, riskFree),
    sortino: sortino(x, periodsPerYear, riskFree),
    max_drawdown: mdd,
    calmar: mdd < 0 ? c / -mdd : NaN,
    hit_rate: hitRate(x),
    best_day: x.length ? best : NaN,
    worst_day: x.length ? worst : NaN,
  };
}

export interface Verification {
  metric: 'sharpe' | 'cagr' | 'max_drawdown';
  primary: number;
  second_route: number;
  abs_diff: number;
  agrees: boolean;
}

/**
 * The second route: CAGR from the sum of log(1 + r); Sharpe from Welford's online mean and variance; max drawdown
 * from a scan of cumulative log equity against its running maximum. Agreement within `tolerance` (relative to
 * the magnitude, absolute near zero).
 */
export function verifyMetrics(r: ArrayLike<number>, periodsPerYear: number, riskFree = 0, tolerance = 1e-9): Verification[] {
  const x = finiteValues(r);
  const n = x.length;
  const m = computeMetrics(x, periodsPerYear, riskFree);
  let logSum = 0;
  let wiped = false;
  for (let i = 0; i < n; i++) {
    if (x[i] <= -1) wiped = true;
    else logSum += Math.log1p(x[i]);
  }
  const cagr2 = n ? (wiped ? -1 : Math.expm1((logSum * periodsPerYear) / n)) : NaN;
  const rf = periodRate(riskFree, periodsPerYear);
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const e = x[i] - rf;
    const d = e - mean;
    mean += d / (i + 1);
    m2 += d * (e - mean);
  }
  const sd = n > 1 ? Math.sqrt(m2 / (n - 1)) : NaN;
  const sharpe2 = sd > 0 ? (mean / sd) * Math.sqrt(periodsPerYear) : NaN;
  let logEq = 0;
  let peak = 0;
  let worst = 0;
  for (let i = 0; i < n && !wiped; i++) {
    logEq += Math.log1p(x[i]);
    if (logEq > peak) peak = logEq;
    worst = Math.min(worst, logEq - peak);
  }
  const mdd2 = wiped ? -1 : Math.expm1(worst);
  const check = (metric: Verification['metric'], a: number, b: number): Verification => {
    const diff = Math.abs(a - b);
    const agrees = (Number.isNaN(a) && Number.isNaN(b)) || diff <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
    return { metric, primary: a, second_route: b, abs_diff: Number.isNaN(diff) ? 0 : diff, agrees };
  };
  return [check('sharpe', m.sharpe, sharpe2), check('cagr', m.cagr, cagr2), check('max_drawdown', m.max_drawdown, mdd2)];
}

/** A trailing-window statistic per day: NaN until the window holds at least two finite returns. */
export interface RollingStats {
  /** Annualised volatility of the last `window` days (sample std × √P). */
  volatility: Float64Array;
  /** Annualised Sharpe of the last `window` days (mean excess over its sample std × √P). */
  sharpe: Float64Array;
}

/**
 * Rolling volatility and Sharpe over the trailing `window` days (day t's value uses days t − window + 1 .. t; NaN
 * days are skipped inside the window, and fewer than `minDays` finite ones give NaN), with the same conventions as
 * `volatility` and `sharpe` above.
 */
export function rollingStats(r: ArrayLike<number>, window: number, periodsPerYear: number, riskFree = 0, minDays = Math.max(2, Math.ceil(window / 2))): RollingStats {
  const n = r.length;
  const rf = periodRate(riskFree, periodsPerYear);
  const volatility = new Float64Array(n).fill(NaN);
  const sharpe = new Float64Array(n).fill(NaN);
  for (let t = window - 1; t < n; t++) {
    let k = 0;
    let s = 0;
    for (let i = t - window + 1; i <= t; i++) if (Number.isFinite(r[i])) { k++; s += r[i] - rf; }
    if (k < minDays) continue;
    const mean = s / k;
    let ss = 0;
    for (let i = t - window + 1; i <= t; i++) if (Number.isFinite(r[i])) ss += (r[i] - rf - mean) ** 2;
    const sd = Math.sqrt(ss / (k - 1));
    volatility[t] = sd * Math.sqrt(periodsPerYear);
    sharpe[t] = sd > 0 ? (mean / sd) * Math.sqrt(periodsPerYear) : NaN;
  }
  return { volatility, sharpe };
}

/** One calendar month of a daily series: its compounded return and how many days with a return it had. */
export interface MonthReturn {
  year: number;
  /** 1..12 */
  month: number;
  return: number;
  days: number;
}

/** Compounded return per calendar month (UTC) of a daily series on EpochDay dates; NaN days are skipped. */
export function monthlyReturns(dates: ArrayLike<number>, r: ArrayLike<number>): MonthReturn[] {
  const out: MonthReturn[] = [];
  for (let i = 0; i < dates.length; i++) {
    const d = new Date(dates[i] * 86_400_000);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    let m = out[out.length - 1];
    if (!m || m.year !== year || m.month !== month) out.push((m = { year, month, return: 0, days: 0 }));
    if (!Number.isFinite(r[i])) continue;
    m.return = (1 + m.return) * (1 + r[i]) - 1;
    m.days++;
  }
  return out;
}

/** The portfolio against a benchmark, on the days both have a finite return. */
export interface BenchmarkRelative {
  days: number;
  /** OLS slope of the portfolio's excess returns on the benchmark's: cov(r, b) / var(b). */
  beta: number;
  /** Jensen's alpha, annualised arithmetically: (mean(r − rf) − β mean(b − rf)) × P. */
  alpha: number;
  correlation: number;
  /** Sample std of the active return r − b, × √P. */
  tracking_error: number;
  /** Annualised mean active return over the tracking error: mean(r − b) × P / tracking error. */
  information_ratio: number;
}

export function benchmarkRelative(r: ArrayLike<number>, b: ArrayLike<number>, periodsPerYear: number, riskFree = 0): BenchmarkRelative {
  const rf = periodRate(riskFree, periodsPerYear);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < Math.min(r.length, b.length); i++) {
    if (!Number.isFinite(r[i]) || !Number.isFinite(b[i])) continue;
    y.push(r[i] - rf);
    x.push(b[i] - rf);
  }
  const n = x.length;
  const nan = { days: n, beta: NaN, alpha: NaN, correlation: NaN, tracking_error: NaN, information_ratio: NaN };
  if (n < 2) return nan;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
    md += y[i] - x[i]; // (r − rf) − (b − rf) = r − b
  }
  md /= n;
  let sdd = 0;
  for (let i = 0; i < n; i++) sdd += (y[i] - x[i] - md) ** 2;
  const te = Math.sqrt(sdd / (n - 1)) * Math.sqrt(periodsPerYear);
  const beta = sxx > 0 ? sxy / sxx : NaN;
  return {
    days: n,
    beta,
    alpha: (my - beta * mx) * periodsPerYear,
    correlation: sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN,
    tracking_error: te,
    information_ratio: te > 0 ? (md * periodsPerYear) / te : NaN,
  };
}
