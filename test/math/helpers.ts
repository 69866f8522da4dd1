/** Shared test helpers: fixture and real-data loading, a seeded generator, closeness checks. */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ColumnMajorMatrix } from '../../src/math/correlation.js';

const here = dirname(fileURLToPath(import.meta.url));
export { DATA_DIR } from '../data.js';
import { DATA_DIR } from '../data.js';

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

export interface OhlcvSeries {
  dates: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export function readCryptoCsv(symbol: string): OhlcvSeries {
  const lines = readFileSync(join(DATA_DIR, 'crypto', `${symbol}.csv`), 'utf8').trim().split('\n').slice(1);
  const cols = lines.map((line) => line.split(','));
  const column = (k: number) => Float64Array.from(cols, (c) => Number(c[k]));
  return { dates: cols.map((c) => c[0]!), open: column(1), high: column(2), low: column(3), close: column(4), volume: column(5) };
}

/** Close-to-close returns of every crypto CSV on the union of dates, NaN where a symbol has none (as the fixtures). */
export function cryptoReturnsMatrix(): ColumnMajorMatrix & { symbols: string[]; dates: string[] } {
  const symbols = readdirSync(join(DATA_DIR, 'crypto'))
    .filter((f) => f.endsWith('.csv'))
    .map((f) => f.slice(0, -4))
    .sort();
  const perSymbol = symbols.map((s) => {
    const series = readCryptoCsv(s);
    const byDate = new Map<string, number>();
    for (let i = 1; i < series.dates.length; i++) byDate.set(series.dates[i]!, series.close[i]! / series.close[i - 1]! - 1);
    return byDate;
  });
  const dates = [...new Set(perSymbol.flatMap((m) => [...m.keys()]))].sort();
  const values = new Float64Array(symbols.length * dates.length);
  symbols.forEach((_, j) => dates.forEach((d, t) => (values[j * dates.length + t] = perSymbol[j]!.get(d) ?? NaN)));
  return { values, nSymbols: symbols.length, nDays: dates.length, symbols, dates };
}

/** Mulberry32: small deterministic generator for reproducible random inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Largest |a - b| treating two NaNs as equal; a NaN against a number is Infinity. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number | null>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k] ?? NaN;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Number.isNaN(x) || Number.isNaN(y) ? Infinity : Math.abs(x - y);
    if (d > worst) worst = d;
  }
  return worst;
}
