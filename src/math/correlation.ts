/**
 * Covariance and Pearson correlation of column-major returns (n symbols x T days, values[j*T + t], NaN = missing).
 *
 * Conventions follow pandas DataFrame.cov() / DataFrame.corr() (ddof = 1, min_periods = 1):
 * - 'pairwise': each pair uses every day on which both symbols have a value; its means and sums of squares are
 *   taken over that overlap only (so a pairwise correlation is not cov_ij / sqrt(cov_ii cov_jj) in general).
 * - 'complete': only the days on which every symbol has a value are used.
 * Results are dense row-major n x n Float64Arrays, filled symmetrically.
 */

export interface ColumnMajorMatrix {
  /** values[j * nDays + t]: symbol j, day t; NaN marks a missing value. */
  readonly values: Float64Array;
  readonly nSymbols: number;
  readonly nDays: number;
}

export type MissingPolicy = 'complete' | 'pairwise';

export interface MomentOptions {
  /** How missing values are handled; default 'pairwise' (pandas). */
  readonly missing?: MissingPolicy;
  /** Day window [start, end); default the whole matrix. */
  readonly start?: number;
  readonly end?: number;
  /** Fewer overlapping observations than this gives NaN (pandas min_periods; default 1, at least 1). */
  readonly minPeriods?: number;
}

export interface CorrelationOptions extends MomentOptions {
  /**
   * What an undefined correlation becomes (zero variance over the overlap, or too few observations).
   * 'nan' (default) is pandas; 'zero' sets it to 0 off the diagonal and 1 on it, so that distances stay finite.
   */
  readonly undefinedAs?: 'nan' | 'zero';
}

import { crossProductsUpper, type RowOutput } from './cross-products-wasm.js';
import { convert, correlationInPlace, packedCrossProducts, type BlockMoments } from './block-moments.js';

/** Block moments reused across a backtest's windows (src/math/block-moments.ts), with the rows' days and columns. */
export interface WindowMoments {
  readonly cache: BlockMoments;
  /** Day of each row of the data (the grid is in days). */
  readonly dates: ArrayLike<number>;
  /** What the columns are (reuse needs the same ones). */
  readonly columns: readonly string[];
}

interface Window {
  readonly start: number;
  readonly end: number;
}

function resolveWindow(data: ColumnMajorMatrix, options: MomentOptions): Window {
  const start = Math.max(0, options.start ?? 0);
  const end = Math.min(data.nDays, options.end ?? data.nDays);
  if (data.values.length !== data.nSymbols * data.nDays) {
    throw new Error(`values has ${data.values.length} entries, expected ${data.nSymbols} x ${data.nDays}`);
  }
  return { start, end: Math.max(start, end) };
}

/**
 * Sums over the overlap of two columns: nobs, centred cross-product and the two centred sums of squares.
 * Two passes (means first) for accuracy; pandas uses Welford's update, which agrees to rounding.
 */
interface PairSums {
  nobs: number;
  crossProduct: number;
  sumSquaresX: number;
  sumSquaresY: number;
}

function pairSums(values: Float64Array, offsetX: number, offsetY: number, length: number, out: PairSums): void {
  let nobs = 0;
  let sumX = 0;
  let sumY = 0;
  for (let t = 0; t < length; t++) {
    const x = values[offsetX + t]!;
    const y = values[offsetY + t]!;
    if (x === x && y === y) {
      nobs++;
      sumX += x;
      sumY += y;
    }
  }
  out.nobs = nobs;
  if (nobs === 0) {
    out.crossProduct = out.sumSquaresX = out.sumSquaresY = 0;
    return;
  }
  const meanX = sumX / nobs;
  const meanY = sumY / nobs;
  let crossProduct = 0;
  let sumSquaresX = 0;
  let sumSquaresY = 0;
  for (let t = 0; t < length; t++) {
    const x = values[offsetX + t]!;
    const y = values[offsetY + t]!;
    if (x === x && y === y) {
      const dx = x - meanX;
      const dy = y - meanY;
      crossProduct += dx * dy;
      sumSquaresX += dx * dx;
      sumSquaresY += dy * dy;
    }
  }
  out.crossProduct = crossProduct;
  out.sumSquaresX = sumSquaresX;
  out.sumSquaresY = sumSquaresY;
}

/**
 * Centred copy of the columns that are complete in the window (row-major by symbol, contiguous days), and
 * which columns those are. Columns with a gap are left to the per-pair path.
 */
interface CentredBlock {
  readonly centred: Float64Array;
  readonly complete: Uint8Array;
  readonly length: number;
}

function centreCompleteColumns(data: ColumnMajorMatrix, rows: Int32Array | null, window: Window): CentredBlock {
  const { values, nSymbols, nDays } = data;
  const length = rows ? rows.length : window.end - window.start;
  const centred = new Float64Array(nSymbols * length);
  const complete = new Uint8Array(nSymbols);
  // The window's first row read once, outside the loops: read inside them (`window.start`), a call with `rows`
  // after calls without (or the reverse) met a property access the optimised code had no feedback for, and was
  // deoptimised, 15 times in a walk-forward run at N=500 (--trace-deopt).
  const start = window.start;
  for (let j = 0; j < nSymbols; j++) {
    const base = j * nDays;
    const out = j * length;
    let sum = 0;
    let hasGap = false;
    for (let k = 0; k < length; k++) {
      const x = values[base + (rows ? rows[k]! : start + k)]!;
      if (x !== x) {
        hasGap = true;
        break;
      }
      centred[out + k] = x;
      sum += x;
    }
    if (hasGap) continue;
    complete[j] = 1;
    const mean = sum / length;
    for (let k = 0; k < length; k++) centred[out + k] = centred[out + k]! - mean;
  }
  return { centred, complete, length };
}

/** Dot products of centred complete columns, four rows at a time so each column j is read once per block. */
function centredCrossProducts(block: CentredBlock, nSymbols: number, cross: Float64Array): void {
  const { centred, complete, length } = block;
  const completeIdx: number[] = [];
  for (let j = 0; j < nSymbols; j++) if (complete[j]) completeIdx.push(j);
  const m = completeIdx.length;
  for (let a = 0; a < m; a += 4) {
    const i0 = completeIdx[a]!;
    const i1 = a + 1 < m ? completeIdx[a + 1]! : -1;
    const i2 = a + 2 < m ? completeIdx[a + 2]! : -1;
    const i3 = a + 3 < m ? completeIdx[a + 3]! : -1;
    const o0 = i0 * length;
    const o1 = i1 >= 0 ? i1 * length : o0;
    const o2 = i2 >= 0 ? i2 * length : o0;
    const o3 = i3 >= 0 ? i3 * length : o0;
    for (let b = a; b < m; b++) {
      const j = completeIdx[b]!;
      const oj = j * length;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < length; k++) {
        const y = centred[oj + k]!;
        s0 += centred[o0 + k]! * y;
        s1 += centred[o1 + k]! * y;
        s2 += centred[o2 + k]! * y;
        s3 += centred[o3 + k]! * y;
      }
      cross[i0 * nSymbols + j] = cross[j * nSymbols + i0] = s0;
      if (i1 >= 0 && b >= a + 1) cross[i1 * nSymbols + j] = cross[j * nSymbols + i1] = s1;
      if (i2 >= 0 && b >= a + 2) cross[i2 * nSymbols + j] = cross[j * nSymbols + i2] = s2;
      if (i3 >= 0 && b >= a + 3) cross[i3 * nSymbols + j] = cross[j * nSymbols + i3] = s3;
    }
  }
}

/** Day indices (absolute) in the window on which every symbol has a value. */
function completeRows(data: ColumnMajorMatrix, window: Window): Int32Array {
  const { values, nSymbols, nDays } = data;
  const ok = new Uint8Array(window.end - window.start).fill(1);
  for (let j = 0; j < nSymbols; j++) {
    const base = j * nDays + window.start;
    for (let k = 0; k < ok.length; k++) {
      const x = values[base + k]!;
      if (x !== x) ok[k] = 0;
    }
  }
  const rows: number[] = [];
  for (let k = 0; k < ok.length; k++) if (ok[k]) rows.push(window.start + k);
  return Int32Array.from(rows);
}

type PairResult = (sums: PairSums) => number;

/**
 * Shared driver: complete columns go through the blocked dot-product path (the SIMD kernel, or the JavaScript loop
 * without WebAssembly SIMD: each pair's products summed day by day from 0 either way, so the same bits), any pair
 * involving a column with a gap through the per-pair two-pass path. Each `finish` turns the sums of one pair into
 * its matrix's entry: several matrices from one pass of sums.
 */
function pairwiseMatrices(data: ColumnMajorMatrix, options: MomentOptions, finishes: readonly PairResult[]): Float64Array[] {
  const window = resolveWindow(data, options);
  const n = data.nSymbols;
  const outs = finishes.map(() => new Float64Array(n * n));
  const missing = options.missing ?? 'pairwise';
  const rows = missing === 'complete' ? completeRows(data, window) : null;
  const block = centreCompleteColumns(data, rows, window);
  // The upper triangle is all the loop below reads. The kernel multiplies every column, a gapped one's partial
  // centred row too: those pairs are summed again over their overlap.
  const cross = new Float64Array(n * n);
  if (!(block.length > 0 && crossProductsUpper(block.centred, n, block.length, cross))) centredCrossProducts(block, n, cross);
  const sums: PairSums = { nobs: 0, crossProduct: 0, sumSquaresX: 0, sumSquaresY: 0 };
  const length = window.end - window.start;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      if (block.complete[i] && block.complete[j]) {
        sums.nobs = block.length;
        sums.crossProduct = cross[i * n + j]!;
        sums.sumSquaresX = cross[i * n + i]!;
        sums.sumSquaresY = cross[j * n + j]!;
      } else if (rows) {
        // 'complete': the retained rows have no gaps, so every column is complete there.
        sums.nobs = 0;
      } else {
        pairSums(data.values, i * data.nDays + window.start, j * data.nDays + window.start, length, sums);
      }
      for (let f = 0; f < finishes.length; f++) outs[f]![i * n + j] = outs[f]![j * n + i] = finishes[f]!(sums);
    }
  }
  return outs;
}

/** ddof = 1 covariance of a pair's sums (NaN under minPeriods or 2 observations). */
const covarianceOf = (minPeriods: number): PairResult => (s) => (s.nobs < minPeriods || s.nobs < 2 ? NaN : s.crossProduct / (s.nobs - 1));

/** Pearson correlation of a pair's sums, clamped to [-1, 1] (NaN under minPeriods or without variance). */
const correlationOf =
  (minPeriods: number): PairResult =>
  (s) => {
    if (s.nobs < minPeriods) return NaN;
    const divisor = Math.sqrt(s.sumSquaresX * s.sumSquaresY);
    if (divisor === 0) return NaN;
    const rho = s.crossProduct / divisor;
    return rho > 1 ? 1 : rho < -1 ? -1 : rho;
  };

/** Sample covariance matrix (ddof = 1), pandas DataFrame.cov() semantics for missing data. */
export function covarianceMatrix(data: ColumnMajorMatrix, options: MomentOptions = {}): Float64Array {
  return pairwiseMatrices(data, options, [covarianceOf(Math.max(1, options.minPeriods ?? 1))])[0]!;
}

/** Pearson correlation matrix, pandas DataFrame.corr() semantics (pair-specific means and variances). */
export function correlationMatrix(data: ColumnMajorMatrix, options: CorrelationOptions = {}): Float64Array {
  const out = pairwiseMatrices(data, options, [correlationOf(Math.max(1, options.minPeriods ?? 1))])[0]!;
  if (options.undefinedAs === 'zero') fillUndefinedCorrelation(out, data.nSymbols);
  return out;
}

/**
 * covarianceMatrix(data, options) and correlationMatrix(data, options) from one pass of sums (an allocation needs
 * both of the same window): the same bits as the two computed apart.
 */
export function covarianceAndCorrelation(data: ColumnMajorMatrix, options: MomentOptions = {}): { cov: Float64Array; corr: Float64Array } {
  const minPeriods = Math.max(1, options.minPeriods ?? 1);
  const [cov, corr] = pairwiseMatrices(data, options, [covarianceOf(minPeriods), correlationOf(minPeriods)]);
  return { cov: cov!, corr: corr! };
}

/** NaN correlations become 0 off the diagonal and 1 on it (a zero-variance symbol is uncorrelated with all). */
export function fillUndefinedCorrelation(corr: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      if (i === j) corr[k] = 1;
      else if (corr[k] !== corr[k]) corr[k] = 0;
    }
  }
  return corr;
}

/**
 * Mean of the correlation matrices over several trailing lookbacks ending at `end` (default the last day):
 * lookback L uses days [end - L, end); a lookback longer than the history, or 'all', uses all of it.
 * Each matrix has undefined entries set as in fillUndefinedCorrelation before averaging, so the result is
 * finite with a unit diagonal.
 */
export function averageCorrelation(
  data: ColumnMajorMatrix,
  lookbacks: ReadonlyArray<number | 'all'>,
  options: Omit<CorrelationOptions, 'start' | 'undefinedAs'> & {
    /** Write the result here (n × n) instead of a new matrix: a caller deciding window after window reuses one. */
    out?: Float64Array;
    /** Return the correlation distance of the mean instead (correlationDistanceInPlace of it, fused when it can be). */
    distance?: boolean;
    /** A backtest window's block moments: gap-free windows on its grid are merged from them (src/math/block-moments.ts). */
    moments?: WindowMoments;
    /** Only the upper triangle and the diagonal are read (Ward mirrors in its own memory): the lower one may be left unwritten. */
    upperOnly?: boolean;
  } = {},
): Float64Array {
  if (lookbacks.length === 0) throw new Error('averageCorrelation needs at least one lookback');
  const n = data.nSymbols;
  const end = Math.min(data.nDays, options.end ?? data.nDays);
  if (options.out && options.out.length !== n * n) throw new Error(`out has ${options.out.length} entries, expected ${n}^2`);
  const single = lookbacks.length === 1;
  // One lookback overwrites every entry (its paths below write the whole matrix): no zeros first.
  const total = options.out ? (single ? options.out : options.out.fill(0)) : new Float64Array(n * n);
  // One lookback writes straight into the result (0 + rho and rho / 1 are rho: the same bits), as a distance when asked.
  const output: RowOutput = single ? (options.distance ? 'distance' : 'write') : 'add';
  let wroteUpperOnly = false;
  let isDistance = false;
  let scratch: Float64Array | undefined;
  for (const lookback of lookbacks) {
    if (lookback !== 'all' && !(Number.isInteger(lookback) && lookback >= 2)) {
      throw new Error(`lookback must be an integer >= 2 or 'all', got ${String(lookback)}`);
    }
    const start = lookback === 'all' ? 0 : Math.max(0, end - lookback);
    // Gap-free windows (the usual case) take the direct path: no per-pair closure, no n x n scratch beyond one.
    const minPeriods = Math.max(1, options.minPeriods ?? 1);
    if (end - start >= minPeriods && gapFree(data, start, end)) {
      const m = options.moments;
      if ((m && m.cache.correlationInto(data, m.dates, m.columns, start, end, total, output)) || directCorrelationInto(data, start, end, total, output)) {
        wroteUpperOnly = true;
        isDistance = output === 'distance';
        continue;
      }
      if (single) {
        completeCorrelationInto(data, start, end, total);
        continue;
      }
      scratch ??= new Float64Array(n * n);
      completeCorrelationInto(data, start, end, scratch);
      for (let k = 0; k < total.length; k++) total[k] = total[k]! + scratch[k]!;
      continue;
    }
    const corr = correlationMatrix(data, { ...options, start, end, undefinedAs: 'zero' });
    if (single) total.set(corr);
    else for (let k = 0; k < total.length; k++) total[k] = total[k]! + corr[k]!;
  }
  // The row kernels write the upper triangle (and the diagonal); the matrix is symmetric. Entry by entry, the mean
  // and the distance below are the same on either side, so a caller reading the upper triangle needs no mirror.
  if (wroteUpperOnly && !options.upperOnly) mirrorUpper(total, n);
  if (!single) for (let k = 0; k < total.length; k++) total[k] = total[k]! / lookbacks.length;
  if (options.distance && !isDistance) correlationDistanceInPlace(total, n);
  return total;
}

/**
 * completeCorrelationInto through the SIMD kernels (the same sums, the same rho rule, the same bits), the upper
 * triangle and the diagonal written as `output` says; false without WebAssembly SIMD.
 */
function directCorrelationInto(data: ColumnMajorMatrix, start: number, end: number, out: Float64Array, output: RowOutput): boolean {
  const n = data.nSymbols;
  if (n < 2) return false;
  const block = centreCompleteColumns(data, null, { start, end });
  // The cross products in `out` itself when it holds nothing else (no triangle of n² / 2 more).
  if (output !== 'add') return correlationInPlace(block.centred, n, block.length, out, output);
  const packed = packedCrossProducts(block.centred, n, block.length);
  if (!packed) return false;
  try {
    convert(packed.moments, null, n, packed.offsets, out, output);
  } finally {
    packed.free();
  }
  return true;
}

/** True when every symbol has a value on every day of [start, end). */
function gapFree(data: ColumnMajorMatrix, start: number, end: number): boolean {
  const { values, nSymbols, nDays } = data;
  if (values.length !== nSymbols * nDays) throw new Error(`values has ${values.length} entries, expected ${nSymbols} x ${nDays}`);
  for (let j = 0; j < nSymbols; j++) {
    const base = j * nDays;
    for (let t = start; t < end; t++) {
      const x = values[base + t]!;
      if (x !== x) return false;
    }
  }
  return true;
}

/**
 * correlationMatrix(data, { start, end, undefinedAs: 'zero' }) of a window without gaps, written into `out`, with
 * the same arithmetic in the same order (two-pass centring, each pair's products summed day by day from 0,
 * rho = s_xy / sqrt(s_xx s_yy) clamped to [-1, 1], an undefined rho 0 and the diagonal 1), hence the same bits;
 * the cross products go into `out` itself (upper triangle, mirrored afterwards tile by tile), so the only other
 * memory is the centred copy of the window and the n sums of squares.
 */
function completeCorrelationInto(data: ColumnMajorMatrix, start: number, end: number, out: Float64Array): void {
  const n = data.nSymbols;
  const length = end - start;
  const block = centreCompleteColumns(data, null, { start, end });
  const centred = block.centred;
  // WebAssembly SIMD where the engine has it (the same sums in the same order: src/math/cross-products-wasm.ts).
  if (!crossProductsUpper(centred, n, length, out)) crossProductsUpperJs(centred, n, length, out);
  const ss = new Float64Array(n);
  for (let i = 0; i < n; i++) ss[i] = out[i * n + i]!;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const sx = ss[i]!;
    out[row + i] = 1;
    for (let j = i + 1; j < n; j++) {
      const divisor = Math.sqrt(sx * ss[j]!);
      let rho: number;
      if (divisor === 0) rho = 0;
      else {
        rho = out[row + j]! / divisor;
        rho = rho > 1 ? 1 : rho < -1 ? -1 : rho === rho ? rho : 0;
      }
      out[row + j] = rho;
    }
  }
  mirrorUpper(out, n);
}

/** Σ_k c_ik c_jk for i <= j of a centred symbol-major block into `out`'s upper triangle, four rows at a time. */
function crossProductsUpperJs(centred: Float64Array, n: number, length: number, out: Float64Array): void {
  for (let a = 0; a < n; a += 4) {
    const i1 = a + 1 < n ? a + 1 : a;
    const i2 = a + 2 < n ? a + 2 : a;
    const i3 = a + 3 < n ? a + 3 : a;
    const o0 = a * length;
    const o1 = i1 * length;
    const o2 = i2 * length;
    const o3 = i3 * length;
    const r0 = a * n;
    for (let b = a; b < n; b++) {
      const oj = b * length;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < length; k++) {
        const y = centred[oj + k]!;
        s0 += centred[o0 + k]! * y;
        s1 += centred[o1 + k]! * y;
        s2 += centred[o2 + k]! * y;
        s3 += centred[o3 + k]! * y;
      }
      out[r0 + b] = s0;
      if (a + 1 < n && b >= a + 1) out[r0 + n + b] = s1;
      if (a + 2 < n && b >= a + 2) out[r0 + 2 * n + b] = s2;
      if (a + 3 < n && b >= a + 3) out[r0 + 3 * n + b] = s3;
    }
  }
}

/** Copies the upper triangle of a square row-major matrix onto the lower one, in tiles (cache-friendly). */
export function mirrorUpper(m: Float64Array, n: number): void {
  const B = 64;
  for (let ib = 0; ib < n; ib += B) {
    const iEnd = Math.min(n, ib + B);
    for (let jb = ib; jb < n; jb += B) {
      const jEnd = Math.min(n, jb + B);
      for (let i = ib; i < iEnd; i++) {
        for (let j = Math.max(jb, i + 1); j < jEnd; j++) m[j * n + i] = m[i * n + j]!;
      }
    }
  }
}

/**
 * Correlation distance d = sqrt(0.5 * (1 - rho)) (Mantegna 1999; Lopez de Prado 2016): 0 for rho = 1,
 * 1 for rho = -1, a metric. 1 - rho is clamped at 0 against rounding; a NaN rho stays NaN. Square, row-major.
 */
export function correlationDistance(corr: Float64Array, n: number): Float64Array {
  if (corr.length !== n * n) throw new Error(`correlation has ${corr.length} entries, expected ${n}^2`);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      out[k] = i === j ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - corr[k]!));
    }
  }
  return out;
}

/**
 * correlationDistance computed in place over a symmetric correlation matrix the caller no longer needs (same
 * arithmetic, same bits); throws on a non-finite result, as the Ward linkage would.
 */
export function correlationDistanceInPlace(corr: Float64Array, n: number): Float64Array {
  if (corr.length !== n * n) throw new Error(`correlation has ${corr.length} entries, expected ${n}^2`);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const k = row + j;
      const d = i === j ? 0 : Math.sqrt(0.5 * Math.max(0, 1 - corr[k]!));
      if (!Number.isFinite(d)) throw new Error('distances must be finite (scipy refuses NaN and infinity too)');
      corr[k] = d;
    }
  }
  return corr;
}
