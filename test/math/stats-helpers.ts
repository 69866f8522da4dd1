/** Inputs of the tournament statistics tests: the crypto returns as the reference scripts read them, and the fixtures. */
import { readCryptoCsv, readFixture } from './helpers.js';

/**
 * Daily simple returns close_t / close_{t−1} − 1 of each symbol on the dates every one of them has (the first date
 * of each file has no return), as the research scripts' `aligned_returns`; with `ew`, a fifth column EW4: the
 * equal-weighted, daily rebalanced mean of the others.
 */
export function alignedCryptoReturns(symbols: string[], ew = false): { names: string[]; dates: string[]; columns: Float64Array[] } {
  const series = symbols.map((s) => {
    const c = readCryptoCsv(s);
    const m = new Map<string, number>();
    for (let i = 1; i < c.dates.length; i++) m.set(c.dates[i], c.close[i] / c.close[i - 1] - 1);
    return m;
  });
  const dates = [...series[0].keys()].filter((d) => series.every((m) => m.has(d))).sort();
  const columns = series.map((m) => Float64Array.from(dates, (d) => m.get(d)!));
  const names = [...symbols];
  if (ew) {
    columns.push(Float64Array.from(dates, (_, t) => columns.reduce((a, c) => a + c[t], 0) / symbols.length));
    names.push('EW4');
  }
  return { names, dates, columns };
}

/** Columns side by side as one T × N column-major matrix. */
export function columnMajor(columns: Float64Array[]): Float64Array {
  const T = columns[0].length;
  const out = new Float64Array(T * columns.length);
  columns.forEach((c, j) => out.set(c, j * T));
  return out;
}

interface Inputs {
  arch_ar1: string;
  ar05: string;
  iid: string;
  pbo_a: { T: number; N: number; values: string };
  pbo_b: { T: number; N: number; values: string };
  pbo_c: { T: number; N: number; values: string };
}

const decode = (b64: string): Float64Array => {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
};

/** test/math/fixtures/tournament_stats_inputs.json (make_tournament_stats_fixtures.py), decoded. */
export function statsInputs() {
  const j = readFixture<Inputs>('tournament_stats_inputs.json');
  const m = (x: Inputs['pbo_a']) => ({ T: x.T, N: x.N, values: decode(x.values) });
  return { archAr1: decode(j.arch_ar1), ar05: decode(j.ar05), iid: decode(j.iid), pboA: m(j.pbo_a), pboB: m(j.pbo_b), pboC: m(j.pbo_c) };
}
