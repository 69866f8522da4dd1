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
 * Why not slide one window's moments to the next (add the entering rows, remove the leaving ones)? A window's bits
 * would then depend on the windows before it, whose older rows a thread meeting the window cold does not have (a
 * decision's data is its own window); the stacks read nothing but the window's own rows.
 *
 * A fold B ⊕ X is one kernel pass (src/math/cross-products-wasm.ts accumulate): the block's rows, centred, and the
 * row √(n_X b / n) δ are added to X's packed triangle entry by entry, in place for the prefix; a run of suffixes is
 * one pass too, storing the running sums where a suffix is kept. So a window costs one block of products for the
 * prefix, and for the suffixes as many as the kept ones leave to fold (those at multiples of a spacing c are kept,
 * as memory allows: windows of 12 blocks moving one a decision fold 1.9 blocks in all with every suffix kept (c = 1:
 * 1000 symbols), 4 with one (c = 6: 2000 symbols) and 6.5 with none (5000 symbols, whose window folds its suffix
 * from scratch)), and one pass that merges S and P fused with the conversion to correlations.
 *
 * A fold adds B's rows onto X's running sums in row order, so a window's bits depend on the fixed order of its
 * folds (the prefix left to right, the suffix right to left, then S ⊕ P), which depends on the window alone; a
 * fold's running sum is what a stored and reloaded triangle holds, so where a run of folds starts or stops does not
 * matter. Reuse is checked, never assumed: a block is reused only when the window holds the same days and
 * the same values for the same columns as the window that computed it, else everything is computed again (same
 * bytes, more time). Only the window's own rows are read (no look-ahead: every fold is of blocks inside the window).
 */
import { addProducts, allocate, heap, kernels, packedLayout, productBands, release, transient, type RowOutput } from './cross-products-wasm.js';
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
 * A fold's triangle load and store in rows of products (measured at 2000 symbols: adding 22 rows to a packed
 * triangle in place takes about as long as 24 rows from zero into the kernel's own band).
 */
const PASS_ROWS = 2;
/** The packed triangles one window length may keep at most, in bytes: beyond, the direct path. */
const MEMORY_BUDGET = 256 * 2 ** 20;
/**
 * Of which the suffixes kept for later windows (beyond a window's own two triangles, its suffix and the prefix): one
 * triangle at 2000 symbols (16 MB: the suffix halfway along the group), 3 in all per thread. Each kept triangle is
 * memory first touched once per thread, and on this machine that costs what the folds it saves do: at 2000 symbols,
 * budgets of 16, 32, 48 and 96 MiB ran the walk-forward job in the same time within noise (4.2-4.3 s; 96 MiB
 * 4.3-4.6 s) at peak RSS 525, 550, 585 and 645 MiB (alternating runs, 2 cores); the smallest was kept.
 */
const KEEP_BUDGET = 16 * 2 ** 20;

/**
 * Blocks folded per decision, on average over a run of windows of G blocks moving `shift` blocks a decision, when
 * the suffixes kept are those at multiples of c (and the window's own): what correlationInto does, counted.
 */
function foldsPerDecision(G: number, shift: number, c: number): number {
  let p = { group: -1, upto: 0 };
  let front = -1;
  let kept = new Set<number>();
  let folds = 0;
  // One group to warm up, then G decisions (every position in the group when shift is 1).
  const decisions = 2 * G;
  for (let d = 0; d < decisions; d++) {
    const a = d * shift;
    const g = Math.floor(a / G);
    const j = a - g * G;
    let n = 0;
    const prefix = (h: number, u: number) => {
      n += p.group === h && p.upto <= u ? u - p.upto : u;
      p = { group: h, upto: u };
    };
    if (j === 0) prefix(g, G);
    else {
      if (front !== g) kept = new Set();
      front = g;
      kept = new Set([...kept].filter((k) => k >= j && (k % c === 0 || k === j)));
      if (!kept.has(j)) {
        const from = Math.min(G, ...[...kept].filter((k) => k > j));
        n += from - j;
        for (let i = j; i < from; i++) if (i === j || i % c === 0) kept.add(i);
      }
      prefix(g + 1, j);
    }
    if (d >= decisions - G) folds += n;
  }
  return folds / G;
}

/** Suffixes kept for later windows with spacing c: those at multiples of c (the window's own and the prefix beside). */
const checkpoints = (G: number, c: number) => Math.floor((G - 1) / c);

/**
 * How far apart the kept suffixes are for windows of `rows` rows, or 0 when the direct path is cheaper (or the
 * memory too much): the cheapest spacing within the memory bounds, if its cost per decision, (folds of block + 1
 * rows and a pass each) + the second triangle the conversion reads, is below the direct path's L rows.
 */
function spacingFor(grid: MomentGrid, rows: number, n: number): number {
  const { block, step } = grid;
  if (block < 2 || rows % block !== 0 || step % block !== 0) return 0;
  const G = rows / block;
  if (G < 2) return 0;
  let best = 0;
  let bestCost = rows;
  const bytes = triangleBytes(n);
  for (let c = 1; c <= G; c++) {
    if (checkpoints(G, c) * bytes > KEEP_BUDGET || (checkpoints(G, c) + 2) * bytes > MEMORY_BUDGET) continue;
    const cost = foldsPerDecision(G, step / block, c) * (block + 1 + PASS_ROWS) + PASS_ROWS;
    if (cost < bestCost) [best, bestCost] = [c, cost];
  }
  return best;
}

/**
 * The spacing for windows of `rows` rows when one decision's windows are of `lengths` rows (the clustering's
 * lookbacks, in its order), or 0 for the direct path: the lengths share one memory budget per thread, each taking
 * what spacingFor keeps, in the order given, as long as the total fits; a length that does not fit takes the direct
 * path. A function of the lengths, the grid and n alone, so every thread makes the same choice (the bits differ
 * between the grid and the direct path).
 */
function sharedSpacing(grid: MomentGrid, lengths: readonly number[], rows: number, n: number): number {
  let used = 0;
  for (const L of new Set([...lengths, rows])) {
    const c = spacingFor(grid, L, n);
    if (c === 0) {
      if (L === rows) return 0;
      continue;
    }
    const bytes = (checkpoints(L / grid.block, c) + 2) * triangleBytes(n);
    const fits = used + bytes <= MEMORY_BUDGET;
    if (L === rows) return fits ? c : 0;
    if (fits) used += bytes;
  }
  return 0;
}

/** Whether a window of `rows` rows is worth computing on the grid beside windows of `lengths` rows (cost and memory). */
export function gridWorthIt(grid: MomentGrid, rows: number, n: number, lengths: readonly number[] = [rows]): boolean {
  return sharedSpacing(grid, lengths, rows, n) > 0;
}

/** n rounded up to even: every packed row has an even length, so the two-lane kernels need no tail. */
const padded = (n: number) => (n + 1) & ~1;
/** Bytes of a packed triangle of n columns. */
const triangleBytes = (n: number) => packedLayout(n).size * 8;

/** Count, means and centred cross products (a packed triangle in the kernels' memory) of some rows. */
interface Moments {
  at: number;
  count: number;
  mean: Float64Array;
}

interface Stacks {
  /** The right-to-left suffixes S_j of `group` computed so far, by j. */
  front?: { group: number; suffix: Map<number, Moments> };
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
  private offsets: Int32Array = new Int32Array(0);
  /** Doubles of one packed triangle of the columns. */
  private size = 0;
  private blocks = new Map<number, BlockData>();
  private stacks = new Map<number, Stacks>();
  private spacings = new Map<string, number>();

  /**
   * `lengths`: the window lengths (rows) one decision asks for, in its order: they share the memory budget
   * (sharedSpacing). `spacing`: keep the suffixes this far apart instead (tests: any spacing gives the same bits).
   */
  constructor(
    readonly grid: MomentGrid,
    private readonly lengths: readonly number[] = [],
    private readonly spacing?: number,
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
    if (n < 2 || !kernels()) return false;
    // The choice is a function of (rows, n, the lengths) and costs a count of folds per spacing: made once per length.
    const key = `${rows}:${n}`;
    const spacing = this.spacings.get(key) ?? this.spacings.set(key, sharedSpacing(this.grid, this.lengths, rows, n)).get(key)!;
    if (spacing === 0) return false;
    const c = this.spacing ?? spacing;
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
      // The prefix first: starting a group's prefix frees the last one before the suffixes take theirs.
      const p = this.prefix(stacks, window, g + 1, j, G)!;
      const s = this.suffix(stacks, window, g, j, G, c);
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
    const held: Array<{ r0: number; kept: Float64Array }> = [];
    for (let k = a; same && k < a + G; k++) {
      const was = this.blocks.get(k);
      if (!was) continue;
      const r0 = start + (k - a) * b;
      for (let t = 0; t < b && same; t++) same = was.dates[t] === dates[r0 + t];
      held.push({ r0, kept: was.values });
    }
    same &&= sameValues(data, held, b);
    if (!same) {
      this.release();
      this.columns = [...columns];
      ({ offsets: this.offsets, size: this.size } = packedLayout(n));
    }
    // A block goes once no kept fold holds it and it is before this window (windows move forward); every block a
    // kept fold holds stays, so that no fold is reused without its rows compared.
    let keep = a;
    for (const [size, st] of this.stacks) {
      if (st.front) for (const j of st.front.suffix.keys()) keep = Math.min(keep, st.front.group * size + j);
      if (st.back?.moments) keep = Math.min(keep, st.back.group * size);
    }
    // A dropped block's arrays take the next new block's rows (not 336 KB allocated and faulted in per block at 2000 symbols).
    const spare: BlockData[] = [];
    for (const [k, was] of this.blocks) {
      if (k >= keep) continue;
      if (was.values.length === n * b) spare.push(was);
      this.blocks.delete(k);
    }
    for (let k = a; k < a + G; k++) {
      if (this.blocks.has(k)) continue;
      const r0 = start + (k - a) * b;
      const block = spare.pop() ?? { dates: new Int32Array(b), values: new Float64Array(n * b) };
      for (let c = 0; c < n; c++) block.values.set(data.values.subarray(c * data.nDays + r0, c * data.nDays + r0 + b), c * b);
      for (let t = 0; t < b; t++) block.dates[t] = dates[r0 + t]!;
      this.blocks.set(k, block);
    }
  }

  /**
   * Suffix S_j of group g (blocks gG + j … gG + G − 1, folded right to left), from the nearest kept one to its right:
   * the suffixes at multiples of c are kept on the way (the next windows start from them), and the window's own.
   */
  private suffix(stacks: Stacks, w: WindowRows, g: number, j: number, G: number, c: number): Moments {
    if (stacks.front?.group !== g) {
      if (stacks.front) for (const m of stacks.front.suffix.values()) this.free(m);
      stacks.front = { group: g, suffix: new Map() };
    }
    const kept = stacks.front.suffix;
    const keep = (i: number) => i === j || i % c === 0;
    // Suffixes left of j are behind every later window (windows move forward); an earlier window's own goes too.
    for (const [k, m] of kept) {
      if (k >= j && keep(k)) continue;
      this.free(m);
      kept.delete(k);
    }
    const own = kept.get(j);
    if (own) return own;
    let from = G;
    for (const k of kept.keys()) if (k > j && k < from) from = k;
    // One pass from the nearest kept suffix down to j, a triangle for each suffix kept on the way.
    const steps: number[] = [];
    for (let i = from - 1; i >= j; i--) steps.push(i);
    const made = this.folds(w, steps.map((i) => g * G + i), from < G ? kept.get(from)! : null, steps.map(keep), false);
    steps.forEach((i, s) => made[s] && kept.set(i, made[s]));
    return kept.get(j)!;
  }

  /** Prefix of group h over its first u blocks (left to right), extending the kept one. */
  private prefix(stacks: Stacks, w: WindowRows, h: number, u: number, G: number): Moments | null {
    const back = stacks.back;
    if (!back || back.group !== h || back.upto > u) {
      if (back?.moments) this.free(back.moments);
      stacks.back = { group: h, upto: 0, moments: null };
    }
    const p = stacks.back!;
    if (p.upto < u) {
      const ks: number[] = [];
      for (let i = p.upto; i < u; i++) ks.push(h * G + i);
      p.moments = this.folds(w, ks, p.moments, ks.map((_, s) => s === ks.length - 1), true)[ks.length - 1]!;
      p.upto = u;
    }
    return p.moments;
  }

  private free(m: Moments): void {
    release(m.at, this.size * 8);
  }

  private dropStacks(s: Stacks): void {
    if (s.front) for (const m of s.front.suffix.values()) this.free(m);
    if (s.back?.moments) this.free(s.back.moments);
    s.front = undefined;
    s.back = undefined;
  }

  /**
   * Blocks ks folded one after the other onto `from` (null: nothing), in one kernel pass: the moments after step s
   * when keep[s] (a triangle each; the last step's goes into from's own when `inPlace`). A step is Chan's merge of
   * block k into what came before: M2 = M2_before + Σ c cᵀ + f δ δᵀ, c the block's rows centred on its mean, δ = the
   * block's mean − before's, f = n_before · b / n: the block's b rows and the row √f δ added entry by entry, the same
   * bits as one step at a time (the kernel's running sum is what a stored and reloaded triangle would hold).
   */
  private folds(w: WindowRows, ks: readonly number[], from: Moments | null, keep: readonly boolean[], inPlace: boolean): Array<Moments | undefined> {
    const { data } = w;
    const n = data.nSymbols;
    const b = this.grid.block;
    const made: Array<Moments | undefined> = [];
    const segments: { rows: number; dst: number }[] = [];
    const count = from?.count ?? 0;
    const mean = from?.mean ?? null;
    let rows = 0;
    // The rows and triangles first (the kernel's segments); the means as the rows are written, column by column, so
    // that a column's rows are read from the window once (its sum, then its centred rows while in cache).
    const plan = ks.map((k, s) => {
      const r0 = w.start + (k - w.first) * b;
      const merges = s > 0 || from !== null;
      rows += merges ? b + 1 : b;
      if (keep[s]) {
        const dst = inPlace && from && s === ks.length - 1 ? from.at : allocate(this.size * 8)!;
        segments.push({ rows, dst });
        rows = 0;
        made[s] = { at: dst, count: count + (s + 1) * b, mean: new Float64Array(0) };
      }
      return { r0, merges };
    });
    const means: Float64Array[] = [];
    addProducts(
      n,
      segments,
      (h, base, total) => {
        let row = 0;
        let before = mean;
        let done = count;
        for (const { r0, merges } of plan) {
          // Centred within the block, as centreCompleteColumns centres a window (sum in row order, then the mean).
          const merged = new Float64Array(n);
          const root = merges ? Math.sqrt((done * b) / (done + b)) : 0;
          for (let c = 0; c < n; c++) {
            const first = c * data.nDays + r0;
            let sum = 0;
            for (let t = 0; t < b; t++) sum += data.values[first + t]!;
            const m = sum / b;
            const to = base + (c & ~7) * total + (c & 7) + 8 * row;
            for (let t = 0; t < b; t++) h[to + 8 * t] = data.values[first + t]! - m;
            if (before) {
              h[to + 8 * b] = root * (m - before[c]!);
              merged[c] = (done * before[c]! + b * m) / (done + b);
            } else merged[c] = m;
          }
          means.push(merged);
          before = merged;
          done += b;
          row += merges ? b + 1 : b;
        }
      },
      from ? from.at : null,
    );
    made.forEach((m, s) => m && (m.mean = means[s]!));
    return made;
  }
}

interface WindowRows {
  data: ColumnMajorMatrix;
  /** The window's first row in data, and its first block's index on the grid. */
  start: number;
  first: number;
}

/**
 * Whether every held block's rows r0 … r0 + b − 1 of `data` are its `kept` values (column c at c * b …), bit for bit
 * (a NaN never is; −0 is not 0). Column by column, each column's blocks one after the other: the window's rows of
 * a column are contiguous (2 KB for 12 blocks), where a block's are 168 bytes a column apart (a cache miss each;
 * the window's matrix is fresh, not in cache: this was 70% of the check at 2000 symbols).
 */
function sameValues(data: ColumnMajorMatrix, held: ReadonlyArray<{ r0: number; kept: Float64Array }>, b: number): boolean {
  const { values, nSymbols: n, nDays } = data;
  for (let c = 0; c < n; c++) {
    for (const { r0, kept } of held) {
      const from = c * nDays + r0;
      const to = c * b;
      for (let t = 0; t < b; t++) {
        const x = values[from + t]!;
        const y = kept[to + t]!;
        if (x !== y || (x === 0 && 1 / x !== 1 / y)) return false;
      }
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
  const { size, offsets } = packedLayout(n);
  const at = allocate(size * 8)!;
  addProducts(
    n,
    [{ rows: days, dst: at }],
    (h, base) => {
      for (let j = 0; j < n; j++) for (let t = 0; t < days; t++) h[base + (j & ~7) * days + (j & 7) + 8 * t] = centred[j * days + t]!;
    },
    null,
  );
  return { moments: { at, count: days, mean: new Float64Array(0) }, offsets, free: () => release(at, size * 8) };
}

/**
 * The direct path's correlations or distances without a triangle of n² / 2: the cross products (accumulate's 4 × 4
 * tiles, each entry summed from 0 in day order) a band of 64 rows at a time, each band's rows turned into
 * correlations or distances through the kernels' memory while it is there. The sums of squares come first, in
 * JavaScript with the kernel's arithmetic for entry (i, i) (0 + x₀x₀ + x₁x₁ + …), since a row needs every later
 * column's. 'write' and 'distance' only (their rows hold nothing else); false without SIMD.
 */
export function correlationInPlace(centred: Float64Array, n: number, days: number, out: Float64Array, output: Exclude<RowOutput, 'add'>): boolean {
  const k = kernels();
  if (!k || n === 0 || days === 0) return false;
  const npad = padded(n);
  const { offsets } = packedLayout(n);
  // Work area: the sums of squares, one row of output.
  const work = transient(2 * npad * 8)!;
  const ss = work / 8;
  const rowAt = work + npad * 8;
  const row = rowAt / 8;
  const h = heap();
  for (let i = 0; i < n; i++) {
    const base = i * days;
    let s = 0;
    for (let t = 0; t < days; t++) s += centred[base + t]! * centred[base + t]!;
    h[ss + i] = s;
  }
  for (let c = n; c < npad; c++) h[ss + c] = 0;
  const kernel = k[`corr_1_${output}`];
  const diagonal = output === 'write' ? 1 : 0;
  return productBands(
    n,
    days,
    2 * npad * 8,
    (mem, base) => {
      for (let j = 0; j < n; j++) for (let t = 0; t < days; t++) mem[base + (j & ~7) * days + (j & 7) + 8 * t] = centred[j * days + t]!;
    },
    (mem, at, tile0, ib0, ib1) => {
      for (let i = ib0; i < Math.min(ib1, n); i++) {
        const q = i & ~1;
        kernel(rowAt, at + (offsets[i]! - tile0) * 8, 0, 0, work + q * 8, npad - q, 0, mem[ss + i]!);
        out.set(mem.subarray(row, row + n - q), i * n + q);
        out[i * n + i] = diagonal;
      }
    },
  );
}
