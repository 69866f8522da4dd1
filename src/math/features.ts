/**
 * Per-symbol features over a trailing lookback, on typed arrays, NaN-aware. Definitions and references are in
 * docs/math.md; each kernel below states its convention in one line.
 *
 * Alignment: all columns have the same length T; returns[t] is the simple return from close[t-1] to close[t].
 * A lookback of L ending at `end` (exclusive) uses returns [end-L, end) and the L+1 prices [end-L-1, end).
 * Missing values (NaN) are skipped by every kernel; a kernel with too little data returns NaN.
 */

/** The finite values of an array, in order. */
export function finiteValues(values: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) count++;
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) out[k++] = v;
  }
  return out;
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

// The kernels below that need one pass (or two) in order over the finite values walk the window in place,
// skipping the missing days, instead of copying the finite values out first: the same operations in the same
// order, so the same bits as on finiteValues(...), without an allocation per symbol and window.

/** Compounded return over the window: prod(1 + r) - 1 (missing days count as no change). */
export function momentum(returns: ArrayLike<number>): number {
  let growth = 1;
  let count = 0;
  for (let i = 0; i < returns.length; i++) {
    const r = returns[i]!;
    if (!Number.isFinite(r)) continue;
    growth *= 1 + r;
    count++;
  }
  return count === 0 ? NaN : growth - 1;
}

/** Rate of change in percent: 100 * (last price / first price - 1) over the finite prices of the window. */
export function rateOfChange(prices: ArrayLike<number>): number {
  let first = NaN;
  let last = NaN;
  let count = 0;
  for (let i = 0; i < prices.length; i++) {
    const p = prices[i]!;
    if (!Number.isFinite(p)) continue;
    if (count++ === 0) first = p;
    last = p;
  }
  if (count < 2 || first === 0) return NaN;
  return 100 * (last / first - 1);
}

/** Sample standard deviation (ddof = 1). */
export function sampleStd(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    sum += v;
    count++;
  }
  if (count < 2) return NaN;
  const m = sum / count;
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) ss += (v - m) ** 2;
  }
  return Math.sqrt(ss / (count - 1));
}

/** Annualised volatility: sample std (ddof = 1) * sqrt(periodsPerYear). */
export function annualisedVolatility(returns: ArrayLike<number>, periodsPerYear: number): number {
  return sampleStd(returns) * Math.sqrt(periodsPerYear);
}

/** pandas' guard against rounding noise: sums below 1e-14 in magnitude are treated as exact zeros. */
function zeroOutRounding(x: number): number {
  return Math.abs(x) < 1e-14 ? 0 : x;
}

function centralSums(x: Float64Array): { m2: number; m3: number; m4: number } {
  const m = mean(x);
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - m;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  return { m2, m3, m4 };
}

/**
 * Adjusted Fisher-Pearson skewness G1 = sqrt(n(n-1))/(n-2) * g1 (pandas Series.skew, scipy skew(bias=False)).
 * n < 3 gives NaN; zero variance gives 0 (pandas; scipy would give NaN).
 */
export function skewness(values: ArrayLike<number>): number {
  const x = finiteValues(values);
  const n = x.length;
  if (n < 3) return NaN;
  const sums = centralSums(x);
  const m2 = zeroOutRounding(sums.m2);
  const m3 = zeroOutRounding(sums.m3);
  if (m2 === 0) return 0;
  return ((n * Math.sqrt(n - 1)) / (n - 2)) * (m3 / m2 ** 1.5);
}

/**
 * Bias-corrected excess kurtosis G2 (pandas Series.kurt, scipy kurtosis(fisher=True, bias=False)); 0 for a
 * normal distribution. n < 4 gives NaN; zero variance gives 0 (pandas).
 */
export function excessKurtosis(values: ArrayLike<number>): number {
  const x = finiteValues(values);
  const n = x.length;
  if (n < 4) return NaN;
  const { m2, m4 } = centralSums(x);
  const numerator = zeroOutRounding(n * (n + 1) * (n - 1) * m4);
  const denominator = zeroOutRounding((n - 2) * (n - 3) * m2 * m2);
  if (denominator === 0) return 0;
  return numerator / denominator - (3 * (n - 1) ** 2) / ((n - 2) * (n - 3));
}

/**
 * Historical CVaR (expected shortfall) at `level`, as a return (negative for a loss): the mean of the worst
 * (1 - level) fraction of the n observations, k = (1 - level) n, where the observation straddling k enters
 * with weight k - floor(k) (Rockafellar-Uryasev; the same number as skfolio's cvar, sign flipped). k < 1
 * gives the single worst return.
 */
export function conditionalValueAtRisk(returns: ArrayLike<number>, level = 0.95): number {
  const r = finiteValues(returns).sort();
  const n = r.length;
  if (n === 0) return NaN;
  const k = (1 - level) * n;
  if (k <= 1) return r[0]!;
  const whole = Math.floor(k);
  let sum = 0;
  for (let i = 0; i < whole; i++) sum += r[i]!;
  if (whole < n) sum += (k - whole) * r[whole]!;
  return sum / k;
}

/** Maximum drawdown of the compounded equity starting at 1: max over t of 1 - E_t / max(1, E_0..E_t), in [0, 1]. */
export function maxDrawdown(returns: ArrayLike<number>): number {
  let equity = 1;
  let peak = 1;
  let worst = 0;
  let count = 0;
  for (let i = 0; i < returns.length; i++) {
    const r = returns[i]!;
    if (!Number.isFinite(r)) continue;
    count++;
    equity *= 1 + r;
    if (equity > peak) peak = equity;
    const drawdown = 1 - equity / peak;
    if (drawdown > worst) worst = drawdown;
  }
  return count === 0 ? NaN : worst;
}

/**
 * Bin counts of numpy.histogram(x, bins): equal-width bins over [min, max], the last bin closed on the right,
 * with numpy's edge corrections so that values on an edge land where numpy puts them.
 */
export function histogramCounts(values: Float64Array, bins: number): Int32Array {
  const counts = new Int32Array(bins);
  if (values.length === 0) return counts;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const step = (hi - lo) / bins;
  const edge = (i: number) => (i === bins ? hi : i * step + lo);
  const norm = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    let b = Math.floor((x - lo) * norm);
    if (b >= bins) b = bins - 1;
    if (b < 0) b = 0;
    if (x < edge(b)) b--;
    else if (b !== bins - 1 && x >= edge(b + 1)) b++;
    counts[b]!++;
  }
  return counts;
}

/**
 * Normalised Shannon entropy of the returns' histogram: -sum p ln p / ln(bins), in [0, 1]; 0 when every return
 * falls in one bin, 1 when the bins are equally full. Bins: `bins` (default 10) equal-width bins spanning the
 * window's own min to max (numpy.histogram). Fewer than 2 returns gives NaN.
 */
export function binnedEntropy(returns: ArrayLike<number>, bins = 10): number {
  const r = finiteValues(returns);
  if (r.length < 2 || bins < 2) return NaN;
  const counts = histogramCounts(r, bins);
  let h = 0;
  for (let b = 0; b < bins; b++) {
    if (counts[b] === 0) continue;
    const p = counts[b]! / r.length;
    h -= p * Math.log(p);
  }
  return h / Math.log(bins);
}

/**
 * Hurst exponent by classical rescaled-range (R/S) analysis of the returns (increments, not prices).
 * Window sizes w = minWindow * 2^k while w <= n; for each w, the series is split into floor(n/w) consecutive
 * non-overlapping chunks from the start; per chunk R = range of the cumulative deviations from the chunk mean and
 * S = population std of the chunk; R/S is averaged over chunks with S > 0. H is the least-squares slope of
 * ln(mean R/S) on ln(w). Needs at least two window sizes (n >= 2 * minWindow), otherwise NaN. Small windows bias
 * H upward (white noise averages about 0.56 for n = 60-250; Anis-Lloyd 1976).
 */
export function hurstExponent(returns: ArrayLike<number>, minWindow = 8): number {
  const x = finiteValues(returns);
  const n = x.length;
  const logW: number[] = [];
  const logRS: number[] = [];
  for (let w = minWindow; w <= n; w *= 2) {
    const chunks = Math.floor(n / w);
    let total = 0;
    let used = 0;
    for (let c = 0; c < chunks; c++) {
      const start = c * w;
      let m = 0;
      for (let i = 0; i < w; i++) m += x[start + i]!;
      m /= w;
      let cumulative = 0;
      let lo = 0;
      let hi = 0;
      let ss = 0;
      for (let i = 0; i < w; i++) {
        const d = x[start + i]! - m;
        cumulative += d;
        if (cumulative < lo) lo = cumulative;
        if (cumulative > hi) hi = cumulative;
        ss += d * d;
      }
      const s = Math.sqrt(ss / w);
      if (s > 0) {
        total += (hi - lo) / s;
        used++;
      }
    }
    if (used > 0 && total > 0) {
      logW.push(Math.log(w));
      logRS.push(Math.log(total / used));
    }
  }
  if (logW.length < 2) return NaN;
  return olsSlope(logW, logRS);
}

function olsSlope(x: number[], y: number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxy / sxx;
}

/** Kaufman efficiency ratio on prices: |P_last - P_first| / sum |P_t - P_{t-1}|, in [0, 1]; 0 if prices never move. */
export function efficiencyRatio(prices: ArrayLike<number>): number {
  let first = NaN;
  let previous = NaN;
  let count = 0;
  let path = 0;
  for (let i = 0; i < prices.length; i++) {
    const p = prices[i]!;
    if (!Number.isFinite(p)) continue;
    if (count++ === 0) first = p;
    else path += Math.abs(p - previous);
    previous = p;
  }
  if (count < 2) return NaN;
  return path === 0 ? 0 : Math.abs(previous - first) / path;
}

/** Prices implied by returns, starting at 1 (for the efficiency ratio and ROC when no close column exists). */
export function pricesFromReturns(returns: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < returns.length; i++) if (Number.isFinite(returns[i]!)) count++;
  const prices = new Float64Array(count + 1);
  prices[0] = 1;
  let k = 0;
  for (let i = 0; i < returns.length; i++) {
    const r = returns[i]!;
    if (!Number.isFinite(r)) continue;
    prices[k + 1] = prices[k]! * (1 + r);
    k++;
  }
  return prices;
}

/**
 * Wilder's Average Directional Index series (New Concepts in Technical Trading Systems, 1978), period p:
 * TR, +DM, -DM from bar 1; Wilder sums start as the plain sum of the first p values and then
 * S_t = S_{t-1} - S_{t-1}/p + x_t; DX = 100 |+DI - -DI| / (+DI + -DI); the first ADX (bar 2p-1) is the mean of
 * the first p DX, then ADX_t = ((p-1) ADX_{t-1} + DX_t) / p. Entries before bar 2p-1 are NaN. Bars with a
 * missing high, low or close are not allowed (the caller passes a gap-free window).
 */
export function adxSeries(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, period = 14): Float64Array {
  const n = close.length;
  const adx = new Float64Array(n).fill(NaN);
  if (n < 2 * period) return adx;
  let trSum = 0;
  let plusSum = 0;
  let minusSum = 0;
  let dxSum = 0;
  let current = NaN;
  for (let t = 1; t < n; t++) {
    const upMove = high[t]! - high[t - 1]!;
    const downMove = low[t - 1]! - low[t]!;
    const plusDM = upMove > downMove && upMove > 0 ? upMove : 0;
    const minusDM = downMove > upMove && downMove > 0 ? downMove : 0;
    const tr = Math.max(high[t]! - low[t]!, Math.abs(high[t]! - close[t - 1]!), Math.abs(low[t]! - close[t - 1]!));
    if (t <= period) {
      trSum += tr;
      plusSum += plusDM;
      minusSum += minusDM;
    } else {
      trSum = trSum - trSum / period + tr;
      plusSum = plusSum - plusSum / period + plusDM;
      minusSum = minusSum - minusSum / period + minusDM;
    }
    if (t < period) continue;
    const plusDI = trSum === 0 ? 0 : (100 * plusSum) / trSum;
    const minusDI = trSum === 0 ? 0 : (100 * minusSum) / trSum;
    const diSum = plusDI + minusDI;
    const dx = diSum === 0 ? 0 : (100 * Math.abs(plusDI - minusDI)) / diSum;
    if (t < 2 * period - 1) {
      dxSum += dx;
    } else if (t === 2 * period - 1) {
      current = (dxSum + dx) / period;
      adx[t] = current;
    } else {
      current = (current * (period - 1) + dx) / period;
      adx[t] = current;
    }
  }
  return adx;
}

/** Mean of close * volume over the days where both exist. */
export function averageDollarVolume(close: ArrayLike<number>, volume: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < close.length; i++) {
    const value = close[i]! * volume[i]!;
    if (Number.isFinite(value)) {
      sum += value;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

export interface FeatureColumns {
  /** Simple returns, NaN = missing; returns[t] is close[t-1] -> close[t]. */
  readonly returns: Float64Array;
  readonly close?: Float64Array;
  readonly high?: Float64Array;
  readonly low?: Float64Array;
  readonly volume?: Float64Array;
}

export interface FeatureOptions {
  /** Number of returns in the window. */
  readonly lookback: number;
  /** Exclusive end index of the window (default: the column length), so nothing after it is read. */
  readonly end?: number;
  /** 365 for crypto, 252 otherwise (DESIGN.md). */
  readonly periodsPerYear: number;
  readonly entropyBins?: number;
  readonly hurstMinWindow?: number;
  readonly adxPeriod?: number;
  readonly cvarLevel?: number;
}

export interface SymbolFeatures {
  momentum: number;
  roc: number;
  volatility: number;
  skew: number;
  kurtosis: number;
  cvar95: number;
  maxDrawdown: number;
  entropy: number;
  hurst: number;
  efficiency: number;
  adx: number;
  dollarVolume: number;
  missingFraction: number;
}

export const FEATURE_NAMES = [
  'momentum', 'roc', 'volatility', 'skew', 'kurtosis', 'cvar95', 'maxDrawdown', 'entropy', 'hurst', 'efficiency',
  'adx', 'dollarVolume', 'missingFraction',
] as const satisfies readonly (keyof SymbolFeatures)[];

/** The features that read bar columns (close, high, low, volume); the others read the returns alone. */
export const BAR_FEATURES: ReadonlySet<keyof SymbolFeatures> = new Set(['roc', 'efficiency', 'adx', 'dollarVolume']);

/**
 * All features of one symbol over [end - lookback, end). Days before the column starts count as missing.
 * ROC and the efficiency ratio use the close column when given, else prices rebuilt from the returns; ADX needs
 * high, low and close and is NaN when any of the window's lookback + 1 bars is missing.
 */
export function computeFeatures(columns: FeatureColumns, options: FeatureOptions): SymbolFeatures {
  return computeSelectedFeatures(columns, options, FEATURE_NAMES) as SymbolFeatures;
}

/**
 * The named features of one symbol, by the same kernels as computeFeatures (each value is bit for bit the one
 * computeFeatures gives): a stage asking for momentum alone does not pay for Hurst, entropy or ADX.
 */
export function computeSelectedFeatures(columns: FeatureColumns, options: FeatureOptions, names: readonly (keyof SymbolFeatures)[]): Partial<SymbolFeatures> {
  const { lookback, periodsPerYear } = options;
  if (!Number.isInteger(lookback) || lookback < 1) throw new Error(`lookback must be a positive integer, got ${lookback}`);
  const length = columns.returns.length;
  const end = Math.min(length, options.end ?? length);
  const start = Math.max(0, end - lookback);
  const priceStart = Math.max(0, end - lookback - 1);
  // The whole column when the window is all of it (a stage cutting columns to the window already made this view).
  const returns = start === 0 && end === length ? columns.returns : columns.returns.subarray(start, end);
  const close = columns.close?.subarray(priceStart, end);
  let prices: Float64Array | undefined;
  const pricesOf = () => (prices ??= close ?? pricesFromReturns(returns));
  // A switch rather than a table of closures: this runs per symbol and window (96,000 times in the walk-forward job).
  const feature = (name: keyof SymbolFeatures): number => {
    switch (name) {
      case 'momentum':
        return momentum(returns);
      case 'roc':
        return rateOfChange(pricesOf());
      case 'volatility':
        return annualisedVolatility(returns, periodsPerYear);
      case 'skew':
        return skewness(returns);
      case 'kurtosis':
        return excessKurtosis(returns);
      case 'cvar95':
        return conditionalValueAtRisk(returns, options.cvarLevel ?? 0.95);
      case 'maxDrawdown':
        return maxDrawdown(returns);
      case 'entropy':
        return binnedEntropy(returns, options.entropyBins ?? 10);
      case 'hurst':
        return hurstExponent(returns, options.hurstMinWindow ?? 8);
      case 'efficiency':
        return efficiencyRatio(pricesOf());
      case 'adx': {
        if (!(columns.high && columns.low && close)) return NaN;
        const high = columns.high.subarray(priceStart, end);
        const low = columns.low.subarray(priceStart, end);
        const gapFree = [high, low, close].every((c) => c.every(Number.isFinite));
        return gapFree ? adxSeries(high, low, close, options.adxPeriod ?? 14).at(-1)! : NaN;
      }
      case 'dollarVolume':
        return close && columns.volume ? averageDollarVolume(close.subarray(close.length - returns.length), columns.volume.subarray(start, end)) : NaN;
      case 'missingFraction': {
        let finiteCount = 0;
        for (let i = 0; i < returns.length; i++) if (Number.isFinite(returns[i]!)) finiteCount++;
        return (lookback - finiteCount) / lookback;
      }
    }
  };
  const out: Partial<SymbolFeatures> = {};
  for (const k of names) out[k] = feature(k);
  return out;
}
