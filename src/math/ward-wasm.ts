/**
 * The nearest-neighbour chain of Ward's linkage with its row kernels in WebAssembly SIMD: the same merges, the
 * same heights bit for bit and the same tie-breaking as the JavaScript loop in ward.ts (and scipy's nn_chain).
 *
 * Why it is faster: the time goes to memory, not arithmetic. The JavaScript loop keeps the n x n matrix symmetric
 * by writing the merged cluster's column on every merge, one cache line (and at n = 2000 one page) per live
 * cluster. Here only the merged cluster's row is written; another row is brought up to date just before it is
 * read, by copying the entries of the rows rewritten since: far fewer lines move, and most merges read rows that
 * are still in cache. A log of the merges says which rows those are; the gather kernel walks it itself, a
 * sequential read (a linked list of the rewritten rows, walked in JavaScript, cost more than the copies).
 *
 * Layout in the module's memory (bytes): the live positions that a compaction packs, the merge that last rewrote
 * each row and the row that each merge rewrote (i32 per cluster, each), a mask per column (0 for a live cluster,
 * +Infinity for a merged one and for padding), the cluster sizes as f64, a table of 1 / k for k <= 2n, then the
 * working matrix, row-major with a stride `np` = n rounded up to 4; the diagonal holds +Infinity, so a row's
 * minimum never picks itself and the Ward update keeps it infinite. Dead columns keep stale values that the mask
 * hides; the update runs over whole rows, dead and padding entries included (harmless).
 *
 * The clustering stage hands over the upper triangle only (the correlation's row kernels write that much): it is
 * mirrored here, in the engine's memory, by a SIMD transpose of 2 x 2 blocks (two 16-byte loads, two shuffles, two
 * 16-byte stores), tile by tile; a JavaScript copy moves one entry per strided store and takes ~2.5x as long.
 *
 * Same bits: the update evaluates scipy's _ward expression in its order, lane by lane (WebAssembly never fuses a
 * multiply and an add); cluster sizes are exact in f64, so (size_i + size_x) and 1 / (size_x + size_y + size_i)
 * are the same numbers as in integers, and the latter comes from a table of 1 / k filled by that very division
 * (correctly rounded, so the same bits). The scan takes the row's minimum under a strict < (pmin: a NaN is never
 * taken), then the first index whose value == that minimum: the first index of the row's minimum, exactly what a
 * strict < scan in index order finds (which keeps the first of equal values, 0 and -0 included).
 */
import {
  assemble,
  BLOCK,
  BR,
  BR_IF,
  F64_EQ,
  F64_LT,
  F64X2_EQ,
  F64X2_EXTRACT_LANE,
  F64X2_PMIN,
  I32_SHR_U,
  I32_TRUNC_F64_U,
  F64X2_REPLACE_LANE,
  I32_NE,
  RETURN,
  SELECT,
  V128_ANY_TRUE,
  ensureMemory,
  F64,
  F64_LOAD,
  F64_STORE,
  F64X2_ADD,
  F64X2_CONST,
  F64X2_MUL,
  F64X2_SPLAT,
  F64X2_SQRT,
  F64X2_SUB,
  get,
  i32,
  I32,
  I32_ADD,
  I32_LOAD,
  I32_MUL,
  I32_SHL,
  I32_SUB,
  I8X16_SHUFFLE,
  instantiate,
  LOOP,
  BR_IF0,
  END,
  set,
  tee,
  V128,
  V128_LOAD,
  V128_STORE,
  type WasmMemory,
} from './wasm-assembler.js';

// argmin(p, q, quads, bound) -> i32: the first index of the minimum of value = row[k] + mask[k] over 4 * quads
// entries, -1 when the minimum is not below `bound` (+Infinity: when no value is). Two passes, both light: the
// minimum (two f64x2 accumulators under pmin, a strict <, so a NaN is never taken), then, only if it is below the
// bound, the first entry equal to it (== holds for 0 and -0 alike, as a strict < scan keeps the first of them),
// which the second pass reaches after half the row on average.
const [AP, AQ, AC, BOUND, MIN0, MIN1, VAL, TARGET, LEAST, AT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const argminBody = [
  ...F64X2_CONST(Infinity, Infinity), ...tee(MIN0), ...set(MIN1), //        min0 = min1 = +inf
  ...get(AP), ...set(AT), //                                                 (AT keeps p for the second pass)
  ...LOOP,
  ...get(MIN0), ...get(AP), ...V128_LOAD(0), ...get(AQ), ...V128_LOAD(0), ...F64X2_ADD, ...F64X2_PMIN, ...set(MIN0), //   min0 = val < min0 ? val : min0
  ...get(MIN1), ...get(AP), ...V128_LOAD(16), ...get(AQ), ...V128_LOAD(16), ...F64X2_ADD, ...F64X2_PMIN, ...set(MIN1), // (entries 4j + 2, 4j + 3)
  ...get(AP), ...i32(32), ...I32_ADD, ...set(AP), //                           p += 32
  ...get(AQ), ...i32(32), ...I32_ADD, ...set(AQ), //                           q += 32
  ...get(AC), ...i32(1), ...I32_SUB, ...tee(AC), ...BR_IF0, //                 while (--quads)
  ...END,
  ...get(MIN0), ...get(MIN1), ...F64X2_PMIN, ...tee(MIN0), ...F64X2_EXTRACT_LANE(1), // the least of the four lanes
  ...get(MIN0), ...F64X2_EXTRACT_LANE(0),
  ...get(MIN0), ...F64X2_EXTRACT_LANE(1), ...get(MIN0), ...F64X2_EXTRACT_LANE(0), ...F64_LT, ...SELECT, ...set(LEAST),
  ...BLOCK, //                                                                   nothing below the bound: -1
  ...get(LEAST), ...get(BOUND), ...F64_LT, ...BR_IF(0),
  ...i32(-1), ...RETURN,
  ...END,
  ...get(LEAST), ...F64X2_SPLAT, ...set(TARGET),
  ...get(AQ), ...get(AP), ...I32_SUB, ...set(AQ), //                          AQ = q - p, the mask's offset (both moved alike)
  ...get(AT), ...set(AP), //                                                     p from the start
  ...BLOCK,
  ...LOOP, //                                                                    the first pair holding the minimum
  ...get(AP), ...V128_LOAD(0), ...get(AP), ...get(AQ), ...I32_ADD, ...V128_LOAD(0), ...F64X2_ADD, ...tee(VAL),
  ...get(TARGET), ...F64X2_EQ, ...V128_ANY_TRUE, ...BR_IF(1),
  ...get(AP), ...i32(16), ...I32_ADD, ...set(AP),
  ...BR(0),
  ...END,
  ...END,
  ...get(AP), ...get(AT), ...I32_SUB, ...i32(3), ...I32_SHR_U, ...tee(AC), //   k = (p - start) / 8; the lane: k or k + 1
  ...get(AC), ...i32(1), ...I32_ADD,
  ...get(VAL), ...F64X2_EXTRACT_LANE(0), ...get(LEAST), ...F64_EQ, ...SELECT,
];

// update(rx, ry, sz, pairs, dxy, nx, ny, recip): row y = scipy's _ward(row x, row y, dxy, nx, ny, size) over
// 2 * pairs entries, in scipy's order: sqrt((s + nx) * t * a * a + (s + ny) * t * b * b - s * t * dxy * dxy),
// t = 1 / (nx + ny + s). t is read from a table of 1 / k (recip: the byte address of its entry nx + ny; s is a whole
// number), the same correctly rounded quotient, without a division per entry: the divider is left to the square
// root, and the two were the loop's bottleneck.
const [RX, RY, SZ, UC, DXY, NX, NY, RB, VNX, VNY, VD, SI, T, AV, BV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
const updateBody = [
  ...get(NX), ...F64X2_SPLAT, ...set(VNX),
  ...get(NY), ...F64X2_SPLAT, ...set(VNY),
  ...get(DXY), ...F64X2_SPLAT, ...set(VD),
  ...LOOP,
  ...get(SZ), ...V128_LOAD(0), ...set(SI), //                                  s = size[k..k+1]
  ...get(RB), ...get(SZ), ...F64_LOAD(0), ...I32_TRUNC_F64_U, ...i32(3), ...I32_SHL, ...I32_ADD, ...F64_LOAD(0), ...F64X2_SPLAT,
  ...get(RB), ...get(SZ), ...F64_LOAD(8), ...I32_TRUNC_F64_U, ...i32(3), ...I32_SHL, ...I32_ADD, ...F64_LOAD(0),
  ...F64X2_REPLACE_LANE(1), ...set(T), //                                      t = (recip[nx + ny + s_k], recip[nx + ny + s_k+1])
  ...get(RX), ...V128_LOAD(0), ...set(AV), //                                   a = row x
  ...get(RY), ...V128_LOAD(0), ...set(BV), //                                   b = row y
  ...get(RY),
  ...get(SI), ...get(VNX), ...F64X2_ADD, ...get(T), ...F64X2_MUL, ...get(AV), ...F64X2_MUL, ...get(AV), ...F64X2_MUL, // (s + nx) * t * a * a
  ...get(SI), ...get(VNY), ...F64X2_ADD, ...get(T), ...F64X2_MUL, ...get(BV), ...F64X2_MUL, ...get(BV), ...F64X2_MUL, // (s + ny) * t * b * b
  ...F64X2_ADD,
  ...get(SI), ...get(T), ...F64X2_MUL, ...get(VD), ...F64X2_MUL, ...get(VD), ...F64X2_MUL, //                         s * t * dxy * dxy
  ...F64X2_SUB, ...F64X2_SQRT, ...V128_STORE(0), //                                row y = sqrt(...)
  ...get(RX), ...i32(16), ...I32_ADD, ...set(RX),
  ...get(RY), ...i32(16), ...I32_ADD, ...set(RY),
  ...get(SZ), ...i32(16), ...I32_ADD, ...set(SZ),
  ...get(UC), ...i32(1), ...I32_SUB, ...tee(UC), ...BR_IF0, //                  while (--pairs)
  ...END,
];

// gather(dst, src, stride, log, written, t, count): for the merges t, t + 1, ... (count of them), v = log[t] (the
// cluster the merge rewrote) and, when row v has not been rewritten since (written[v] == t: a later merge or v's
// own merging into another cluster moved written[v]), dst[v] = src[v * stride]: row r takes its entry for cluster v
// from row v. Bytes for dst, src, stride, log (at entry t) and written.
const [GD, GS, GST, GL, GW, GT, GC, GV] = [0, 1, 2, 3, 4, 5, 6, 7];
const gatherBody = [
  ...LOOP,
  ...get(GL), ...I32_LOAD(0), ...set(GV), //                                     v = log[t]
  ...BLOCK,
  ...get(GW), ...get(GV), ...i32(2), ...I32_SHL, ...I32_ADD, ...I32_LOAD(0), ...get(GT), ...I32_NE, ...BR_IF(0), // written[v] != t: skip
  ...get(GD), ...get(GV), ...i32(3), ...I32_SHL, ...I32_ADD, //                   &dst[v]
  ...get(GS), ...get(GV), ...get(GST), ...I32_MUL, ...I32_ADD, ...F64_LOAD(0), // src[v * stride]
  ...F64_STORE(0),
  ...END,
  ...get(GL), ...i32(4), ...I32_ADD, ...set(GL),
  ...get(GT), ...i32(1), ...I32_ADD, ...set(GT),
  ...get(GC), ...i32(1), ...I32_SUB, ...tee(GC), ...BR_IF0, //                  while (--count)
  ...END,
];

// pack(dst, src, list, count): dst[j] = src[list[j]] for j < count (bytes for dst and src): a row keeps the
// columns of the live clusters, in order. Compaction packs row by row from the front, so dst never passes src.
const [PD, PS, PL, PC] = [0, 1, 2, 3];
const packBody = [
  ...LOOP,
  ...get(PD), //                                                                  &dst[j]
  ...get(PS), ...get(PL), ...I32_LOAD(0), ...i32(3), ...I32_SHL, ...I32_ADD, ...F64_LOAD(0), // src[list[j]]
  ...F64_STORE(0),
  ...get(PD), ...i32(8), ...I32_ADD, ...set(PD),
  ...get(PL), ...i32(4), ...I32_ADD, ...set(PL),
  ...get(PC), ...i32(1), ...I32_SUB, ...tee(PC), ...BR_IF0, //                  while (--count)
  ...END,
];

// mirror(src, dst, stride, rowPairs, colPairs): the transpose of a block of 2 * rowPairs rows by 2 * colPairs columns
// at src written at dst (bytes; rows `stride` bytes apart), two by two: rows i, i + 1 at columns j, j + 1 load as
// a = (m[i][j], m[i][j+1]) and b = (m[i+1][j], m[i+1][j+1]), and row j takes (a0, b0), row j + 1 (a1, b1).
const [MS, MD, MST, MR, MC, MSP, MDP, MCC, MA, MB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const LOW_LANES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HIGH_LANES = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
const mirrorBody = [
  ...LOOP, //                                                                    for each pair of source rows
  ...get(MS), ...set(MSP), ...get(MD), ...set(MDP), ...get(MC), ...set(MCC),
  ...LOOP, //                                                                    for each pair of columns
  ...get(MSP), ...V128_LOAD(0), ...set(MA), //                                    a = row i
  ...get(MSP), ...get(MST), ...I32_ADD, ...V128_LOAD(0), ...set(MB), //           b = row i + 1
  ...get(MDP), ...get(MA), ...get(MB), ...I8X16_SHUFFLE(LOW_LANES), ...V128_STORE(0), //                  row j = (a0, b0)
  ...get(MDP), ...get(MST), ...I32_ADD, ...get(MA), ...get(MB), ...I8X16_SHUFFLE(HIGH_LANES), ...V128_STORE(0), // row j + 1 = (a1, b1)
  ...get(MSP), ...i32(16), ...I32_ADD, ...set(MSP),
  ...get(MDP), ...get(MST), ...get(MST), ...I32_ADD, ...I32_ADD, ...set(MDP),
  ...get(MCC), ...i32(1), ...I32_SUB, ...tee(MCC), ...BR_IF0, //                 while (--colPairs)
  ...END,
  ...get(MS), ...get(MST), ...get(MST), ...I32_ADD, ...I32_ADD, ...set(MS), //     src: two rows down
  ...get(MD), ...i32(16), ...I32_ADD, ...set(MD), //                              dst: two columns on
  ...get(MR), ...i32(1), ...I32_SUB, ...tee(MR), ...BR_IF0, //                    while (--rowPairs)
  ...END,
];

const bytes = assemble([
  { exportAs: 'argmin', params: [I32, I32, I32, F64], results: [I32], locals: [[4, V128], [1, F64], [1, I32]], body: argminBody },
  { exportAs: 'update', params: [I32, I32, I32, I32, F64, F64, F64, I32], locals: [[7, V128]], body: updateBody },
  { exportAs: 'gather', params: [I32, I32, I32, I32, I32, I32, I32], locals: [[1, I32]], body: gatherBody },
  { exportAs: 'pack', params: [I32, I32, I32, I32], locals: [], body: packBody },
  { exportAs: 'mirror', params: [I32, I32, I32, I32, I32], locals: [[3, I32], [2, V128]], body: mirrorBody },
]);

interface Kernel {
  argmin: (p: number, q: number, quads: number, bound: number) => number;
  update: (rx: number, ry: number, sz: number, pairs: number, dxy: number, nx: number, ny: number, recip: number) => void;
  gather: (dst: number, src: number, stride: number, log: number, written: number, t: number, count: number) => void;
  pack: (dst: number, src: number, list: number, count: number) => void;
  mirror: (src: number, dst: number, stride: number, rowPairs: number, colPairs: number) => void;
  mem: WasmMemory;
}
let kernel: Kernel | null | undefined;
function instance(): Kernel | null {
  if (kernel === undefined) kernel = instantiate<Kernel>(bytes);
  return kernel;
}

/** Whether the SIMD Ward runs on this engine (Node 16.4+ on x64 and arm64 has WebAssembly SIMD). */
export function wardSimdAvailable(): boolean {
  return instance() !== null;
}

/**
 * The distances: a full symmetric n x n square used as it is, a function that writes them (row i at
 * matrix[i * stride]), or one that writes the upper triangle of the n x n square (row-major, stride n; the lower
 * triangle is not read) straight into the engine's memory, so that they are written once, where the engine reads
 * them, and mirrored there by the SIMD transpose.
 */
export type WardInput =
  | { rows: Float64Array }
  | { fill: (matrix: Float64Array, stride: number) => void }
  | { upper: (square: Float64Array) => void };

/** Tiles of the mirror, in entries: a source and a destination tile (2 x 32 KiB) stay in cache while it is copied. */
const MIRROR_TILE = 64;

/**
 * Copies the upper triangle of the matrix at `base` (bytes; rows `stride` entries apart, n of them) onto the lower
 * one, in tiles, through the transpose kernel. An odd n pairs its last row with the padding row below it (stride
 * is a multiple of 4): what lands in padding is never read.
 */
function mirrorInEngine(k: Kernel, W: Float64Array, base: number, stride: number, n: number): void {
  const even = (n + 1) & ~1;
  const rowBytes = stride * 8;
  for (let ib = 0; ib < even; ib += MIRROR_TILE) {
    const iEnd = Math.min(even, ib + MIRROR_TILE);
    // The diagonal tile, pair of rows by pair of rows: the 2 x 2 block on the diagonal has one entry to copy.
    for (let i = ib; i < iEnd; i += 2) {
      W[(i + 1) * stride + i] = W[i * stride + i + 1]!;
      if (i + 2 < iEnd) k.mirror(base + (i * stride + i + 2) * 8, base + ((i + 2) * stride + i) * 8, rowBytes, 1, (iEnd - i - 2) >> 1);
    }
    for (let jb = iEnd; jb < even; jb += MIRROR_TILE) {
      const jEnd = Math.min(even, jb + MIRROR_TILE);
      k.mirror(base + (ib * stride + jb) * 8, base + (jb * stride + ib) * 8, rowBytes, (iEnd - ib) >> 1, (jEnd - jb) >> 1);
    }
  }
}

/** Compact the working matrix when at most this fraction of its clusters is still live. */
const COMPACT_WHEN_LIVE = 0.5;

/**
 * Ward's nearest-neighbour chain in the SIMD kernels, on distances given as WardInput (`fill` writes columns
 * 0 … n - 1 of each row; the rest of the row is set here). The merges go into `raw` as rows
 * [x, y, height, size] in merge order, exactly as the JavaScript loop writes them. Returns false (nothing
 * written) when WebAssembly SIMD or the memory is not available.
 *
 * Once half the clusters have merged, the live ones are packed into a smaller matrix at the front (order kept, so
 * "the lowest index wins" still means the lowest original index): scans and updates then run over live clusters
 * only, and the working set shrinks as the clustering proceeds. Positions in the matrix map to the original
 * indices through `ids`.
 */
export function wardMergesSimd(n: number, input: WardInput, raw: Float64Array): boolean {
  const k = instance();
  if (!k || n < 2) return false;
  const chain = NnChain.make(k, n, input);
  if (!chain) return false;
  chain.run(raw);
  return true;
}

/**
 * One run of the chain: its state in fields and its steps in methods, not in closures made per call. A closure
 * made per call is a new call target each time: the optimised code, specialised on the last one, was thrown away
 * (deoptimised and compiled again) on each new run, five times per thread at 2000 symbols (`--trace-deopt`).
 */
class NnChain {
  // Byte offsets in the module's memory (see the layout at the top of this file).
  private readonly LIST: number;
  private readonly WRITTEN: number;
  private readonly LOG: number;
  private readonly MASKS: number;
  private readonly SIZES: number;
  private readonly RECIP: number;
  private readonly MATRIX: number;
  private readonly np: number;
  private readonly list: Int32Array;
  private readonly written: Int32Array;
  private readonly log: Int32Array;
  private readonly mask: Float64Array;
  private readonly size: Float64Array;
  private readonly W: Float64Array;
  /** A full square given as it is, copied row by row when a row is first needed; null once packed or not given. */
  private readonly rows: Float64Array | null;
  private loaded: Uint8Array | null;
  // m clusters (live or merged) in the matrix, rows `stride` wide (m rounded up to 4; the padding masked).
  private m: number;
  private stride: number;
  private live: number;
  private readonly ids: Int32Array;
  // Row r is current once the entries of every live cluster rewritten after merge `fresh[r]` have been copied in:
  // merge t rewrote row log[t], and that entry still counts while written[log[t]] == t (written[v] is the merge
  // that last rewrote row v, -1 once v has merged into another cluster). Merges are numbered from 1.
  private readonly fresh: Int32Array;
  private clock = 0;
  private readonly chain: Int32Array;
  private chainLength = 0;

  /** The chain on `input`'s distances, in the engine's memory; null when the memory cannot be had. */
  static make(k: Kernel, n: number, input: WardInput): NnChain | null {
    const at = NnChain.layout((n + 3) & ~3);
    if (!ensureMemory(k.mem, at.end)) return null;
    return new NnChain(k, n, at, input);
  }

  /** Where each part sits for a stride of np, in bytes, and where the matrix (the last part) ends. */
  private static layout(np: number) {
    const LIST = 0;
    const WRITTEN = LIST + np * 4;
    const LOG = WRITTEN + np * 4;
    const MASKS = LOG + np * 4;
    const SIZES = MASKS + np * 8;
    const RECIP = SIZES + np * 8;
    const MATRIX = RECIP + (2 * np + 4) * 8;
    return { np, LIST, WRITTEN, LOG, MASKS, SIZES, RECIP, MATRIX, end: MATRIX + np * np * 8 };
  }

  private constructor(
    private readonly k: Kernel,
    private readonly n: number,
    at: ReturnType<typeof NnChain.layout>,
    input: WardInput,
  ) {
    const np = (this.np = at.np);
    ({ LIST: this.LIST, WRITTEN: this.WRITTEN, LOG: this.LOG, MASKS: this.MASKS, SIZES: this.SIZES, RECIP: this.RECIP, MATRIX: this.MATRIX } = at);
    const heap = new Float64Array(k.mem.buffer);
    this.list = new Int32Array(k.mem.buffer, this.LIST, np);
    this.written = new Int32Array(k.mem.buffer, this.WRITTEN, np);
    this.log = new Int32Array(k.mem.buffer, this.LOG, np);
    this.mask = heap.subarray(this.MASKS / 8, this.MASKS / 8 + np);
    this.size = heap.subarray(this.SIZES / 8, this.SIZES / 8 + np);
    const W = (this.W = heap.subarray(this.MATRIX / 8, this.MATRIX / 8 + np * np));
    // 1 / k as the update's t = 1 / (nx + ny + s) would divide: k <= n for a live column, up to 2n for the merged
    // cluster's own column (its size is already nx + ny when the update runs), whose diagonal must stay +Infinity.
    const recip = heap.subarray(this.RECIP / 8, this.RECIP / 8 + 2 * n + 1);
    for (let s = 1; s <= 2 * n; s++) recip[s] = 1 / s;
    // A full square given as it is is copied row by row when a row is first needed (just before its first scan or
    // merge, so the scan reads it from cache): until the packing, positions are the original indices.
    this.rows = 'rows' in input ? input.rows : null;
    this.loaded = this.rows ? new Uint8Array(n) : null;
    if ('upper' in input) {
      input.upper(W.subarray(0, n * n));
      // Rows n wide move out to the stride (their upper part), last first: a row's destination never reaches a
      // lower row's source.
      if (np !== n) for (let i = n - 1; i > 0; i--) W.copyWithin(i * np + i, i * n + i, i * n + n);
      mirrorInEngine(k, W, this.MATRIX, np, n);
      for (let i = 0; i < n; i++) this.finishRow(i);
    } else if ('fill' in input) {
      input.fill(W, np);
      for (let i = 0; i < n; i++) this.finishRow(i);
    }
    this.mask.fill(0, 0, n).fill(Infinity, n, np);
    this.size.fill(1, 0, n).fill(0, n, np);
    this.m = n;
    this.stride = np;
    this.live = n;
    this.ids = Int32Array.from({ length: n }, (_, i) => i);
    this.written.fill(-1, 0, n);
    this.fresh = new Int32Array(n);
    this.chain = new Int32Array(n);
  }

  private finishRow(i: number): void {
    const { W, np } = this;
    W[i * np + i] = Infinity;
    W.fill(0, i * np + this.n, i * np + np);
  }

  private refresh(r: number): void {
    const loaded = this.loaded;
    if (loaded && !loaded[r]) {
      this.W.set(this.rows!.subarray(r * this.n, r * this.n + this.n), r * this.np);
      this.finishRow(r);
      loaded[r] = 1;
    }
    const since = this.fresh[r]!;
    const clock = this.clock;
    const stride = this.stride;
    if (clock > since) this.k.gather(this.MATRIX + r * stride * 8, this.MATRIX + r * 8, stride * 8, this.LOG + (since + 1) * 4, this.WRITTEN, since + 1, clock - since);
    this.fresh[r] = clock;
  }

  private compact(): void {
    const { mask, list, ids, size, chain, k, W, MATRIX } = this;
    const m = this.m;
    for (let i = 0; i < m; i++) if (mask[i] === 0) this.refresh(i);
    this.loaded = null;
    const position = new Int32Array(m).fill(-1);
    let kept = 0;
    for (let i = 0; i < m; i++) {
      if (mask[i] !== 0) continue;
      position[i] = kept;
      list[kept++] = i;
    }
    const packed = (kept + 3) & ~3;
    // Row a moves to a * packed, taking the live columns in order; a never moves up (a <= list[a]) and rows go
    // front to back, so nothing is overwritten before it is read.
    for (let a = 0; a < kept; a++) {
      k.pack(MATRIX + a * packed * 8, MATRIX + list[a]! * this.stride * 8, this.LIST, kept);
      W.fill(0, a * packed + kept, a * packed + packed);
    }
    for (let a = 0; a < kept; a++) {
      ids[a] = ids[list[a]!]!;
      size[a] = size[list[a]!]!;
    }
    mask.fill(0, 0, kept).fill(Infinity, kept, packed);
    size.fill(0, kept, packed);
    for (let c = 0; c < this.chainLength; c++) chain[c] = position[chain[c]!]!;
    // Every row is current: the log's earlier entries are never read again.
    this.written.fill(-1);
    this.fresh.fill(this.clock);
    this.m = kept;
    this.stride = packed;
  }

  /** The n − 1 merges into `raw`, rows [x, y, height, size] in merge order. */
  run(raw: Float64Array): void {
    const { n, mask, size, ids, chain, k, W, written, log, MATRIX } = this;
    for (let step = 0; step < n - 1; step++) {
      if (this.chainLength === 0) {
        this.chainLength = 1;
        let first = 0;
        while (mask[first] !== 0) first++;
        chain[0] = first;
      }
      let x: number;
      let y: number;
      let currentMin: number;
      for (;;) {
        x = chain[this.chainLength - 1]!;
        this.refresh(x);
        const stride = this.stride;
        // The chain's previous element wins ties (scipy starts its scan from it): only a distance below it extends
        // the chain, and the scan looks for the index only then (-1: the pair x, before is reciprocal).
        const before = this.chainLength > 1 ? chain[this.chainLength - 2]! : -1;
        const dBefore = before >= 0 ? W[x * stride + before]! : Infinity;
        const at = k.argmin(MATRIX + x * stride * 8, this.MASKS, stride >> 2, dBefore);
        if (before >= 0 && at < 0) {
          y = before;
          currentMin = dBefore;
          break;
        }
        // -1: nothing below +Infinity in the row (only for distances that overflow); the JavaScript loop then takes
        // index 0 as well, the same choice as long as no compaction has renumbered the clusters.
        chain[this.chainLength++] = at >= 0 ? at : 0;
      }
      this.chainLength -= 2;
      if (x > y) {
        const swap = x;
        x = y;
        y = swap;
      }
      this.refresh(x);
      this.refresh(y);
      const nx = size[x]!;
      const ny = size[y]!;
      raw[step * 4] = ids[x]!;
      raw[step * 4 + 1] = ids[y]!;
      raw[step * 4 + 2] = currentMin;
      raw[step * 4 + 3] = nx + ny;
      size[x] = 0;
      mask[x] = Infinity;
      size[y] = nx + ny;
      const stride = this.stride;
      k.update(MATRIX + x * stride * 8, MATRIX + y * stride * 8, this.SIZES, stride >> 1, currentMin, nx, ny, this.RECIP + (nx + ny) * 8);
      const clock = ++this.clock;
      written[x] = -1;
      written[y] = clock;
      log[clock] = y;
      this.fresh[y] = clock;
      if (--this.live <= this.m * COMPACT_WHEN_LIVE && this.live >= 4) this.compact();
    }
  }
}
