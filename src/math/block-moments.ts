/**
 * Correlation of a backtest window from block moments reused across windows (Chan, Golub and LeVeque 1979's
 * pairwise update of centred sums of products).
 *
 * A backtest decides every `step` rows on windows of whole blocks of `block` rows (gcd of the train window and the
 * step), the blocks aligned with the window starts (the grid: each block's first day). Each block's moments are its
 * row count, its column means and its centred cross products M2 = Σ (x − x̄)(y − ȳ) (centred within the block, for
 * accuracy); two sets merge as M2 = M2_a + M2_b + (n_a n_b / n) δ δᵀ, δ = x̄_b − x̄_a.
 *
 * A window of G blocks a … a + G − 1 is merged in a FIXED order that depends on the window alone (never on which
 * windows this thread made before), so its bytes are the same for any number of worker threads ("two stacks" over
 * groups of G blocks, g = ⌊a / G⌋, j = a − gG):
 * - j = 0: the window is group g, folded left to right: ((B_0 ⊕ B_1) ⊕ …) ⊕ B_{G−1}.
 * - j > 0: S ⊕ P, S = B_j ⊕ (B_{j+1} ⊕ (… ⊕ B_{G−1})) the suffix of group g folded right to left, P the prefix of
 *   group g + 1 (its first j blocks) folded left to right.
 * Consecutive windows then share their folds: a window costs step / block new blocks for the prefix, as many
 * (amortised) for the suffixes, and one merge fused with the conversion to correlations. The cache keeps the
 * suffixes of one group and one prefix: G packed upper triangles of the window's columns.
 *
 * The merge ⊕ is commutative to the bit ((a + b) and δᵢδⱼ do not depend on the order), so only the tree matters.
 * Reuse is checked, never assumed: a block is reused only when the window holds the same days and the same values
 * for the same columns as the window that computed it, else everything is computed again (same bytes, more time).
 * Only the window's own rows are read (no look-ahead: every fold is of blocks inside the window).
 */
import { allocate, crossProductBands, crossProductsUpper, heap, kernels, release, transient, type RowOutput } from './cross-products-wasm.js';
import type { ColumnMajorMatrix } from './correlation.js';

/** A backtest's schedule in blocks of rows (src/core/plugin.ts DecisionGrid has the same shape). */
export interface MomentGrid {
  /** Rows per block: gcd(train window, step). */
  readonly block: number;
  /** Rows between two decisions. */
  readonly step: number;
  /** The first day (day number) of every block of the calendar, ascending. */
  readonly starts: readonly number[];
}

/**
 * Cost of one merge pass over a packed triangle in rows of the cross-product kernel (measured at 2000 symbols: a
 * merge is memory-bound, about as long as 8 rows of products). The grid is used for a window of L rows when its
 * cost per window, 2 · step rows of block products + (2 · step / block + 1) merges, is below the direct L rows.
 */
const MERGE_ROWS = 8;
/** The packed triangles one window length may keep at most, in bytes: beyond, the direct path. */
const MEMORY_BUDGET = 256 * 2 ** 20;
/** Up to this many bytes, every suffix of a group is kept; beyond, one in `spacing` (and the next few windows'). */
const KEEP_ALL = 64 * 2 ** 20;

/**
 * How many suffixes apart the kept ones are: all of them (1) when G triangles are small, else about √G (G/c kept
 * ones, c for the next windows, one prefix: ~2√G + 1 triangles instead of G + 1, for one more fold per window).
 * Which suffixes are kept never changes a result: a suffix is the same right-to-left fold from wherever it restarts.
 */
function spacing(groups: number, n: number, keepAll = KEEP_ALL): number {
  return groups * packedLength(n) * 8 <= keepAll ? 1 : Math.ceil(Math.sqrt(groups));
}
/** Triangles kept at most for windows of `groups` blocks. */
function triangles(groups: number, n: number): number {
  const c = spacing(groups, n);
  return c === 1 ? groups + 1 : Math.ceil(groups / c) + c + 1;
}

/** Whether a window of `rows` rows is worth computing on the grid (cost and memory; a function of the window). */
export function gridWorthIt(grid: MomentGrid, rows: number, n: number): boolean {
  const { block, step } = grid;
  if (block < 2 || rows % block !== 0 || step % block !== 0) return false;
  const groups = rows / block;
  if (groups < 2) return false;
  // Kept suffixes every c: one more fold per window when c > 1.
  const folds = spacing(groups, n) === 1 ? 2 : 3;
  if (folds * step + (folds * (step / block) + 1) * MERGE_ROWS >= rows) return false;
  return triangles(groups, n) * packedLength(n) * 8 <= MEMORY_BUDGET;
}

/** n rounded up to even: every packed row has an even length, so the two-lane kernels need no tail. */
const padded = (n: number) => (n + 1) & ~1;
/** Doubles of a packed triangle: row i holds columns (i & ~1) … npad − 1. */
function packedLength(n: number): number {
  const npad = padded(n);
  let size = 0;
  for (let i = 0; i < n; i++) size += npad - (i & ~1);
  return size;
}
function rowOffsets(n: number): Int32Array {
  const npad = padded(n);
  const off = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) off[i + 1] = off[i]! + npad - (i & ~1);
  return off;
}

/** Count, means and centred cross products (a packed triangle in the kernels' memory) of some rows. */
interface Moments {
  at: number;
  count: number;
  mean: Float64Array;
}

interface Stacks {
  /** The right-to-left suffixes S_j of `group` computed so far, by j. */
  front?: { group: number; suffix: Map<number, Moments>; windows: number };
  /** The left-to-right prefix of `group` over its first `upto` blocks. */
  back?: { group: number; upto: number; moments: Moments | null };
}

interface BlockData {
  dates: Int32Array;
  values: Float64Array;
}

/**
 * Block moments of one run in one thread (the clustering keeps it in the run cache): the grid, the columns they are
 * of, the raw rows of the blocks seen (to check reuse) and, per window length, the folds kept.
 */
export class BlockMoments {
  private columns: readonly string[] = [];
  private offsets: Int32Array = new Int32Array(1);
  private blocks = new Map<number, BlockData>();
  private stacks = new Map<number, Stacks>();
  /** A block's centred rows (reused: one block at a time). */
  private centred = new Float64Array(0);

  /** `keepAll`: bytes up to which every suffix is kept (tests lower it to see the spaced ones give the same bits). */
  constructor(
    readonly grid: MomentGrid,
    private readonly keepAll = KEEP_ALL,
  ) {}

  /** Frees every kept triangle (the run is over). */
  release(): void {
    for (const s of this.stacks.values()) this.dropStacks(s);
    this.stacks.clear();
    this.blocks.clear();
  }

  /**
   * The correlation of rows [start, end) of a gap-free window, when the window is on the grid and worth it there,
   * into `out` (n × n) as `output` says: 'write' the upper triangle and a unit diagonal, 'add' them to what `out`
   * holds, 'distance' sqrt(0.5 (1 − rho)) and a zero diagonal; the lower triangle is left for the caller to mirror.
   * Returns false (nothing written) off the grid, or without WebAssembly SIMD.
   */
  correlationInto(data: ColumnMajorMatrix, dates: ArrayLike<number>, columns: readonly string[], start: number, end: number, out: Float64Array, output: RowOutput): boolean {
    const n = data.nSymbols;
    const b = this.grid.block;
    const rows = end - start;
    if (n < 2 || !kernels() || !gridWorthIt(this.grid, rows, n)) return false;
    const G = rows / b;
    const a = this.blockAt(dates[start]!);
    if (a < 0 || a + G > this.grid.starts.length) return false;
    for (let i = 1; i < G; i++) if (this.grid.starts[a + i] !== dates[start + i * b]) return false;

    this.checkReuse(data, dates, columns, start, a, G);
    const stacks = this.stacks.get(G) ?? {};
    this.stacks.set(G, stacks);
    const window: WindowRows = { data, start, first: a };
    const g = Math.floor(a / G);
    const j = a - g * G;
    if (j === 0) {
      convert(this.prefix(stacks, window, g, G, G)!, null, n, this.offsets, out, output);
    } else {
      const s = this.suffix(stacks, window, g, j, G);
      const p = this.prefix(stacks, window, g + 1, j, G)!;
      convert(s, p, n, this.offsets, out, output);
    }
    return true;
  }

  /** Index of the block starting on `day`, or −1. */
  private blockAt(day: number): number {
    const s = this.grid.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! === day) return mid;
      if (s[mid]! < day) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Keeps what was computed only if this window has the same columns and, block by block, the same rows. */
  private checkReuse(data: ColumnMajorMatrix, dates: ArrayLike<number>, columns: readonly string[], start: number, a: number, G: number): void {
    const n = data.nSymbols;
    const b = this.grid.block;
    let same = columns.length === this.columns.length && columns.every((c, k) => c === this.columns[k]);
    const values = data.values;
    for (let k = a; same && k < a + G; k++) {
      const was = this.blocks.get(k);
      if (!was) continue;
      const r0 = start + (k - a) * b;
      for (let t = 0; t < b && same; t++) same = was.dates[t] === dates[r0 + t];
      same &&= sameValues(values, was.values, n, data.nDays, r0, b);
    }
    if (!same) {
      this.release();
      this.columns = [...columns];
      this.offsets = rowOffsets(n);
    }
    // A block goes once no kept fold holds it and it is before this window (windows move forward); every block a
    // kept fold holds stays, so that no fold is reused without its rows compared.
    let keep = a;
    for (const [size, st] of this.stacks) {
      if (st.front) for (const j of st.front.suffix.keys()) keep = Math.min(keep, st.front.group * size + j);
      if (st.back?.moments) keep = Math.min(keep, st.back.group * size);
    }
    for (const k of this.blocks.keys()) if (k < keep) this.blocks.delete(k);
    for (let k = a; k < a + G; k++) {
      if (this.blocks.has(k)) continue;
      const r0 = start + (k - a) * b;
      const values = new Float64Array(n * b);
      for (let c = 0; c < n; c++) values.set(data.values.subarray(c * data.nDays + r0, c * data.nDays + r0 + b), c * b);
      this.blocks.set(k, { dates: Int32Array.from({ length: b }, (_, t) => dates[r0 + t]!), values });
    }
  }

  /** Suffix S_j of group g (blocks gG + j … gG + G − 1, right to left), from the nearest kept one. */
  private suffix(stacks: Stacks, w: WindowRows, g: number, j: number, G: number): Moments {
    if (stacks.front?.group !== g) {
      if (stacks.front) for (const m of stacks.front.suffix.values()) this.free(m);
      stacks.front = { group: g, suffix: new Map(), windows: 0 };
    }
    const kept = stacks.front.suffix;
    // A thread's first window in a group keeps only its own suffix: a thread that decides one or two windows (the
    // in-process ones before the workers) keeps no triangles for windows it will not make.
    const first = stacks.front.windows++ === 0;
    // Suffixes left of j are behind every later window.
    for (const [k, m] of kept) {
      if (k >= j) continue;
      this.free(m);
      kept.delete(k);
    }
    let from = G;
    for (const k of kept.keys()) if (k >= j && k < from) from = k;
    const c = spacing(G, w.data.nSymbols, this.keepAll);
    const keep = (i: number) => i === from || i === j || (!first && (i < j + c || i % c === 0));
    let right = from < G ? kept.get(from)! : null;
    for (let i = from - 1; i >= j; i--) {
      const next = this.fold(w, g * G + i, right, false);
      if (right && !keep(i + 1)) this.free(right);
      if (keep(i)) kept.set(i, next);
      right = next;
    }
    return right!;
  }

  /** Prefix of group h over its first u blocks (left to right), extending the kept one. */
  private prefix(stacks: Stacks, w: WindowRows, h: number, u: number, G: number): Moments | null {
    const back = stacks.back;
    if (!back || back.group !== h || back.upto > u) {
      if (back?.moments) this.free(back.moments);
      stacks.back = { group: h, upto: 0, moments: null };
    }
    const p = stacks.back!;
    while (p.upto < u) {
      p.moments = this.fold(w, h * G + p.upto, p.moments, true);
      p.upto++;
    }
    return p.moments;
  }

  private free(m: Moments): void {
    release(m.at, this.offsets[this.offsets.length - 1]! * 8);
  }

  private dropStacks(s: Stacks): void {
    if (s.front) for (const m of s.front.suffix.values()) this.free(m);
    if (s.back?.moments) this.free(s.back.moments);
    s.front = undefined;
    s.back = undefined;
  }

  /**
   * Block k's moments merged with `other` (null: the block alone): into `other` itself when `inPlace`, else into a
   * new triangle. The block's cross products come from the SIMD kernel band by band and are merged as they come.
   */
  private fold(w: WindowRows, k: number, other: Moments | null, inPlace: boolean): Moments {
    const { data } = w;
    const n = data.nSymbols;
    const npad = padded(n);
    const b = this.grid.block;
    const r0 = w.start + (k - w.first) * b;
    // Centred within the block, as centreCompleteColumns centres a window (sum in row order, then the mean).
    if (this.centred.length !== n * b) this.centred = new Float64Array(n * b);
    const centred = this.centred;
    const mean = new Float64Array(npad);
    for (let c = 0; c < n; c++) {
      const base = c * data.nDays + r0;
      let sum = 0;
      for (let t = 0; t < b; t++) sum += data.values[base + t]!;
      const m = sum / b;
      mean[c] = m;
      for (let t = 0; t < b; t++) centred[c * b + t] = data.values[base + t]! - m;
    }
    const offsets = this.offsets;
    const size = offsets[n]! * 8;
    const target = other && inPlace ? other.at : allocate(size)!;
    const k2 = kernels()!;
    // δ = block mean − other's mean, in the kernels' memory below the bands (crossProductBands' reserve).
    const dAt = transient(npad * 8)!;
    let f = 0;
    let merged = mean;
    if (other) {
      const nA = other.count;
      f = (nA * b) / (nA + b);
      const h = heap();
      merged = new Float64Array(npad);
      for (let c = 0; c < n; c++) {
        const delta = mean[c]! - other.mean[c]!;
        h[dAt / 8 + c] = delta;
        merged[c] = (nA * other.mean[c]! + b * mean[c]!) / (nA + b);
      }
      for (let c = n; c < npad; c++) h[dAt / 8 + c] = 0;
    }
    crossProductBands(centred, n, b, npad * 8, (h, base, ib0, ib1, np) => {
      for (let i = ib0; i < Math.min(ib1, n); i++) {
        const q = i & ~1;
        const len = npad - q;
        const row = base + (i - ib0) * np + q;
        const dst = target + offsets[i]! * 8;
        if (other) k2.mergeRow(dst, row * 8, other.at + offsets[i]! * 8, dAt + q * 8, len, f * h[dAt / 8 + i]!);
        else h.copyWithin(dst / 8, row, row + len);
      }
    });
    return { at: target, count: (other?.count ?? 0) + b, mean: merged };
  }
}

interface WindowRows {
  data: ColumnMajorMatrix;
  /** The window's first row in data, and its first block's index on the grid. */
  start: number;
  first: number;
}

/** Whether column c's rows r0 … r0 + b − 1 of `values` are `kept` (c * b …), bit for bit (a NaN never is; −0 is not 0). */
function sameValues(values: Float64Array, kept: Float64Array, n: number, nDays: number, r0: number, b: number): boolean {
  for (let c = 0; c < n; c++) {
    const from = c * nDays + r0;
    const to = c * b;
    for (let t = 0; t < b; t++) {
      const x = values[from + t]!;
      const y = kept[to + t]!;
      if (x !== y || (x === 0 && 1 / x !== 1 / y)) return false;
    }
  }
  return true;
}

/**
 * Correlations of `s` (merged with `p` when given: one more Chan merge, fused) into `out` row by row through the
 * kernels' memory: the upper triangle and the diagonal as `output` says.
 */
export function convert(s: Moments, p: Moments | null, n: number, offsets: Int32Array, out: Float64Array, output: RowOutput): void {
  const k = kernels()!;
  const npad = padded(n);
  // Work area: δ, the diagonal sums of squares ss, one row of output.
  const at = transient(3 * npad * 8)!;
  const dAt = at;
  const ssAt = at + npad * 8;
  const rowAt = at + 2 * npad * 8;
  const h = heap();
  const d = dAt / 8;
  const ss = ssAt / 8;
  let f = 0;
  if (p) {
    f = (s.count * p.count) / (s.count + p.count);
    for (let c = 0; c < n; c++) h[d + c] = p.mean[c]! - s.mean[c]!;
    for (let c = n; c < npad; c++) h[d + c] = 0;
  }
  // The merged diagonal, with the same operations as the kernel's entry (i, i).
  for (let i = 0; i < n; i++) {
    const diag = s.at / 8 + offsets[i]! + (i & 1);
    h[ss + i] = p ? h[diag]! + h[p.at / 8 + offsets[i]! + (i & 1)]! + f * h[d + i]! * h[d + i]! : h[diag]!;
  }
  for (let c = n; c < npad; c++) h[ss + c] = 0;
  const kernel = k[`corr_${p ? 2 : 1}_${output}`];
  const row = rowAt / 8;
  for (let i = 0; i < n; i++) {
    const q = i & ~1;
    const len = npad - q;
    const width = n - q;
    if (output === 'add') h.set(out.subarray(i * n + q, i * n + n), row);
    kernel(rowAt, s.at + offsets[i]! * 8, p ? p.at + offsets[i]! * 8 : 0, dAt + q * 8, ssAt + q * 8, len, p ? f * h[d + i]! : 0, h[ss + i]!);
    const diagonal = out[i * n + i]!;
    out.set(h.subarray(row, row + width), i * n + q);
    out[i * n + i] = output === 'write' ? 1 : output === 'add' ? diagonal + 1 : 0;
  }
}

/** Packed cross products of a centred symbol-major matrix into a new triangle (the direct path); null without SIMD. */
export function packedCrossProducts(centred: Float64Array, n: number, days: number): { moments: Moments; offsets: Int32Array; free: () => void } | null {
  if (!kernels() || n === 0 || days === 0) return null;
  const offsets = rowOffsets(n);
  const npad = padded(n);
  const size = offsets[n]! * 8;
  const at = allocate(size)!;
  crossProductBands(centred, n, days, 0, (h, base, ib0, ib1, np) => {
    for (let i = ib0; i < Math.min(ib1, n); i++) {
      const q = i & ~1;
      h.copyWithin(at / 8 + offsets[i]!, base + (i - ib0) * np + q, base + (i - ib0) * np + q + npad - q);
    }
  });
  return { moments: { at, count: days, mean: new Float64Array(0) }, offsets, free: () => release(at, size) };
}

/**
 * The direct path's conversion without a triangle in the kernels' memory: the cross products go into `out` itself
 * (its upper triangle and diagonal, as completeCorrelationInto does), then each row is turned into correlations or
 * distances through the kernels' memory. 'write' and 'distance' only (their rows hold nothing else); false without SIMD.
 */
export function correlationInPlace(centred: Float64Array, n: number, days: number, out: Float64Array, output: Exclude<RowOutput, 'add'>): boolean {
  const k = kernels();
  if (!k || n === 0 || days === 0 || !crossProductsUpper(centred, n, days, out)) return false;
  const npad = padded(n);
  const at = transient(3 * npad * 8)!;
  const ssAt = at;
  const inAt = at + npad * 8;
  const rowAt = at + 2 * npad * 8;
  const h = heap();
  for (let i = 0; i < n; i++) h[ssAt / 8 + i] = out[i * n + i]!;
  for (let c = n; c < npad; c++) h[ssAt / 8 + c] = 0;
  const kernel = k[`corr_1_${output}`];
  for (let i = 0; i < n; i++) {
    const q = i & ~1;
    const width = n - q;
    h.set(out.subarray(i * n + q, i * n + n), inAt / 8);
    kernel(rowAt, inAt, 0, 0, ssAt + q * 8, npad - q, 0, h[ssAt / 8 + i]!);
    out.set(h.subarray(rowAt / 8, rowAt / 8 + width), i * n + q);
    out[i * n + i] = output === 'write' ? 1 : 0;
  }
  return true;
}
