/**
 * Return attribution of a book held with drift: on each day, a part's contribution is its weight at the start of the
 * day times its return that day, w_s,t−1 × r_s,t, and the weights then drift, w_s,t = w_s,t−1 (1 + r_s,t) / (1 + Σ w r),
 * exactly as the vectorized simulator holds a window (the rest of the equity is cash at 0%). The contributions of a
 * day add up to the book's return that day before trading costs; summed over days they are return points (additive,
 * not compounded).
 */

/** One held decision: the target weights per part, from day `start` to day `end` (EpochDays, inclusive). */
export interface HeldPeriod {
  start: number;
  end: number;
  weights: Record<string, number>;
}

/**
 * Per part, its contribution on each of `dates` (0 outside the held periods). `values` is column-major: the return of
 * part j on day t at `values[j * dates.length + t]`, NaN for no return (flat).
 */
export function driftContributions(dates: Int32Array, parts: string[], values: Float64Array, periods: HeldPeriod[]): Float64Array[] {
  const T = dates.length;
  const out = parts.map(() => new Float64Array(T));
  const index = new Map<number, number>();
  dates.forEach((d, t) => index.set(d, t));
  for (const p of periods) {
    const from = index.get(p.start);
    const to = index.get(p.end);
    if (from === undefined || to === undefined) continue;
    const w = Float64Array.from(parts, (s) => p.weights[s] ?? 0);
    for (let t = from; t <= to; t++) {
      let grow = 1;
      for (let j = 0; j < parts.length; j++) {
        const r = values[j * T + t]!;
        if (w[j] === 0 || !Number.isFinite(r)) continue;
        out[j]![t] = w[j]! * r;
        grow += w[j]! * r;
      }
      if (grow <= 0) break; // the book is wiped out: nothing is held after
      for (let j = 0; j < parts.length; j++) {
        const r = values[j * T + t]!;
        if (w[j] !== 0) w[j] = (w[j]! * (1 + (Number.isFinite(r) ? r : 0))) / grow;
      }
    }
  }
  return out;
}
