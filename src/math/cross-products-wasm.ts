/**
 * Cross products of centred returns, Σ_k x_ik x_jk for every pair i <= j, in WebAssembly SIMD: the hot loop of the
 * clustering's correlation (504 million multiply-adds per window at 2000 symbols × 252 days).
 *
 * Same bits as the JavaScript loop: the two lanes of an f64x2 are two different pairs (i, j) and (i, j + 1), each
 * summed day by day from 0 in day order, a multiply then an add (WebAssembly never fuses them), exactly as
 * `s += x * y` does. So the SIMD changes which pairs are computed together, never the arithmetic of one pair.
 *
 * The module is written out below instruction by instruction (the WAT beside each line), assembled here at
 * load time: no toolchain, nothing prebuilt.
 *
 * `accumulate` computes these sums, for the direct products (crossProductsUpper, productBands) and for packed
 * triangles kept across windows (src/math/block-moments.ts): it
 * starts each entry from a triangle's (or from 0) and stores it into one or more triangles as it goes, so that
 * merging a block into what a triangle holds costs no pass of its own. It takes 4 rows and 4 columns at a time: per
 * row of c two 2-lane loads and 4 splat loads for 8 multiplies and 8 adds (9 loads for the same in 8 × 2 tiles:
 * a third less time at 2000 symbols, where the loads were the limit).
 */

// ------------------------------------------------------------------------------------------------- assembling
import { BR_IF0, END, F64, F64X2_ADD, F64X2_DIV, F64X2_LT, F64X2_MUL, F64X2_SPLAT, F64X2_SQRT, F64X2_SUB, GROWABLE_MEMORY, I32, I32_LOAD, LOOP, V128, V128_BITSELECT, V128_LOAD, V128_STORE, get, i32, instantiate, name, section, set, uleb, vec, type WasmMemory } from './wasm-assembler.js';

const ADD = [0x6a]; // i32.add
const SUB = [0x6b]; // i32.sub
const MUL = [0x6c]; // i32.mul
const SHL = [0x74]; // i32.shl
const LT_U = [0x49]; // i32.lt_u
const AND = [0x71]; // i32.and
const EQ = [0x46]; // i32.eq
const IF = [0x04, 0x40]; // if (no result)
const ELSE = [0x05];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const LOAD64_SPLAT = (offset: number) => simd(0x0a, 3, ...uleb(offset)); // v128.load64_splat align=8
const V128_ZERO = simd(0x0c, ...new Array<number>(16).fill(0)); // v128.const 0

// ------------------------------------------------------------------------------------------------- packed kernel
// accumulate(c, np, rows, src, from, segs, nseg, ib0, ib1, tb0): running cross products of the rows of c from a packed
// triangle: per entry, the sum starts from src's entry and adds x * y row by row in row order; after each segment of
// rows it is stored into that segment's triangle (segs: nseg pairs of i32, [rows, dst]). One segment with dst = src
// adds rows to a triangle in place; several store the running sums on the way (a stack of folds, one pass, no
// triangle read but src); from 0 instead of src when `from` is 0. Tiles ib0 … ib1 − 1 (rows, multiples of 8; tb0
// the byte of tile ib0 in a triangle), so that a caller goes in bands.
// The packed layout is in 8-row tiles: tile t (rows 8t … 8t + 7) holds columns 8t … np − 1 of each of its rows, row
// after row, the tiles one after the other, so the kernel's 4 × 4 blocks of accumulators load and store as they are.
// Per entry the arithmetic is the scalar one (a multiply then an add, row after row).
const packedBody = (): number[] => {
  const [C_, NP_, ROWS, SRC, FROM, SEGS, NSEG, IB0_, IB1_, TB0] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [IB_, JB_, P_, Q_, K_, TB, ROWB, O_, A, S_, M_] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  // acc[r][h]: row ib + r (r < 4), columns jb + 2h, jb + 2h + 1
  const ACC_ = [0, 1, 2, 3].map((r) => [21 + 2 * r, 22 + 2 * r]);
  const [Y0, Y1, X] = [29, 30, 31];
  // a = base + tb + o: the entry (ib, jb) in its tile (o counts the half tile's rows and the columns); row r is r * rowb further
  const at = (base: number[]) => [...base, ...get(TB), ...ADD, ...get(O_), ...ADD, ...set(A)];
  const nextRow = [...get(A), ...get(ROWB), ...ADD, ...set(A)];
  const eachEntry = (f: (acc: number, offset: number) => number[]) => ACC_.flatMap((row) => [...row.flatMap((acc, h) => f(acc, 16 * h)), ...nextRow]);
  // if (from) acc = src's entries else acc = 0
  const init = [...get(FROM), ...IF, ...at(get(SRC)), ...eachEntry((acc, off) => [...get(A), ...V128_LOAD(off), ...set(acc)]), ...ELSE, ...ACC_.flat().flatMap((acc) => [...V128_ZERO, ...set(acc)]), ...END];
  return [
    ...vec([
      [...uleb(11), I32],
      [...uleb(11), V128],
    ]),
    ...get(IB0_), ...set(IB_), ...get(TB0), ...set(TB), //             ib = ib0, tb = tb0 (the tile's first byte in a triangle)
    ...LOOP, //                                                        loop $tiles (8 rows: two halves of 4)
    ...get(NP_), ...get(IB_), ...i32(-8), ...AND, ...SUB, ...i32(3), ...SHL, ...set(ROWB), // rowb = (np - (ib & ~7)) << 3 (bytes per packed row)
    ...get(IB_), ...i32(-8), ...AND, ...set(JB_), //                     jb = ib & ~7
    ...get(IB_), ...i32(7), ...AND, ...get(ROWB), ...MUL, ...set(O_), // o = (ib & 7) * rowb (the half tile's first row)
    ...LOOP, //                                                          loop $columns
    ...init,
    ...get(C_), ...get(IB_), ...i32(-8), ...AND, ...get(ROWS), ...MUL, ...get(IB_), ...i32(7), ...AND, ...ADD, ...i32(3), ...SHL, ...ADD, ...set(P_), // p = c + ((ib & ~7) * rows + (ib & 7)) * 8
    ...get(C_), ...get(JB_), ...i32(-8), ...AND, ...get(ROWS), ...MUL, ...get(JB_), ...i32(7), ...AND, ...ADD, ...i32(3), ...SHL, ...ADD, ...set(Q_), // q = c + ((jb & ~7) * rows + (jb & 7)) * 8
    ...get(SEGS), ...set(S_), ...get(NSEG), ...set(M_), //                 s = segs, m = nseg
    ...LOOP, //                                                            loop $segments
    ...get(S_), ...I32_LOAD(0), ...set(K_), //                               k = s.rows
    ...LOOP, //                                                              loop $rows
    ...get(Q_), ...V128_LOAD(0), ...set(Y0), ...get(Q_), ...V128_LOAD(16), ...set(Y1), // y = c[k][jb..jb+3]
    ...ACC_.flatMap(([a0, a1], r) => [
      ...get(P_), ...LOAD64_SPLAT(8 * r), ...set(X), //                        x = splat(c[k][ib + r])
      ...get(a0!), ...get(X), ...get(Y0), ...F64X2_MUL, ...F64X2_ADD, ...set(a0!),
      ...get(a1!), ...get(X), ...get(Y1), ...F64X2_MUL, ...F64X2_ADD, ...set(a1!),
    ]),
    ...get(P_), ...i32(64), ...ADD, ...set(P_), //                               p += 64 (the panel's next row)
    ...get(Q_), ...i32(64), ...ADD, ...set(Q_),
    ...get(K_), ...i32(1), ...SUB, ...set(K_), ...get(K_), ...BR_IF0,
    ...END,
    ...at([...get(S_), ...I32_LOAD(4)]), ...eachEntry((acc, off) => [...get(A), ...get(acc), ...V128_STORE(off)]), // s.dst's entries = acc
    ...get(S_), ...i32(8), ...ADD, ...set(S_),
    ...get(M_), ...i32(1), ...SUB, ...set(M_), ...get(M_), ...BR_IF0, //     while (--m)
    ...END,
    ...get(O_), ...i32(32), ...ADD, ...set(O_),
    ...get(JB_), ...i32(4), ...ADD, ...set(JB_), ...get(JB_), ...get(NP_), ...LT_U, ...BR_IF0, // jb += 4; while jb < np
    ...END,
    // after the tile's second half, tb += 8 rows
    ...get(TB), ...get(ROWB), ...i32(3), ...SHL, ...get(IB_), ...i32(7), ...AND, ...i32(4), ...EQ, ...MUL, ...ADD, ...set(TB),
    ...get(IB_), ...i32(4), ...ADD, ...set(IB_), ...get(IB_), ...get(IB1_), ...LT_U, ...BR_IF0, // ib += 4; while ib < ib1
    ...END,
    ...END,
  ];
};

// ------------------------------------------------------------------------------------------------- row kernels
// Row kernels over one row of a packed upper triangle (src/math/block-moments.ts), two lanes = two columns j, j + 1
// of the same row i, so each entry's arithmetic is the scalar one (IEEE add, multiply, divide and sqrt are exact
// roundings in either form; WebAssembly never fuses a multiply and an add).
const F64X2_MAX = simd(0xf5);
const F64X2_EQ = simd(0x47);
const F64X2_NE = simd(0x48);
const F64X2_GT = simd(0x4a);
const V128_AND = simd(0x4e);
const f64x2Const = (v: number): number[] => {
  const b = new Uint8Array(new Float64Array([v, v]).buffer);
  return simd(0x0c, ...b);
};
const ONE = f64x2Const(1);
const MINUS_ONE = f64x2Const(-1);
const HALF = f64x2Const(0.5);
const ZERO = V128_ZERO;

/**
 * corrRow(out, a, b, d, ss, len, fd, ssi): one row of correlations from centred cross products m (a[k], or with a
 * second part (a[k] + b[k]) + fd * d[k]): rho = m / sqrt(ssi * ss[k]) clamped to [-1, 1], 0 where undefined (NaN, or
 * a zero divisor), exactly completeCorrelationInto's rule; then written (out[k] = rho), added (out[k] += rho) or
 * turned into the correlation distance (out[k] = sqrt(0.5 * max(0, 1 - rho))).
 */
export type RowOutput = 'write' | 'add' | 'distance';
const ROW_OUTPUTS: RowOutput[] = ['write', 'add', 'distance'];
const corrBody = (twoParts: boolean, output: RowOutput): number[] => {
  const [OUT_, A, B, D, SS, LEN, FD, SSI] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [KK, END_, FDV, SSIV, M, DIV, RHO, X] = [8, 9, 10, 11, 12, 13, 14, 15];
  const m = twoParts
    ? [...get(A), ...get(KK), ...ADD, ...V128_LOAD(0), ...get(B), ...get(KK), ...ADD, ...V128_LOAD(0), ...F64X2_ADD, ...get(FDV), ...get(D), ...get(KK), ...ADD, ...V128_LOAD(0), ...F64X2_MUL, ...F64X2_ADD]
    : [...get(A), ...get(KK), ...ADD, ...V128_LOAD(0)];
  const store =
    output === 'write'
      ? [...get(OUT_), ...get(KK), ...ADD, ...get(X), ...V128_STORE(0)]
      : output === 'add'
        ? [...get(OUT_), ...get(KK), ...ADD, ...get(OUT_), ...get(KK), ...ADD, ...V128_LOAD(0), ...get(X), ...F64X2_ADD, ...V128_STORE(0)]
        : [...get(OUT_), ...get(KK), ...ADD, ...HALF, ...ZERO, ...ONE, ...get(X), ...F64X2_SUB, ...F64X2_MAX, ...F64X2_MUL, ...F64X2_SQRT, ...V128_STORE(0)];
  return [
    ...vec([[...uleb(2), I32], [...uleb(6), V128]]),
    ...get(FD), ...F64X2_SPLAT, ...set(FDV),
    ...get(SSI), ...F64X2_SPLAT, ...set(SSIV),
    ...get(LEN), ...i32(3), ...SHL, ...set(END_),
    ...i32(0), ...set(KK),
    ...LOOP,
    ...m, ...set(M),
    ...get(SSIV), ...get(SS), ...get(KK), ...ADD, ...V128_LOAD(0), ...F64X2_MUL, ...F64X2_SQRT, ...set(DIV),
    ...get(M), ...get(DIV), ...F64X2_DIV, ...set(RHO),
    // x = rho > 1 ? 1 : rho < -1 ? -1 : rho; then 0 where rho is NaN or the divisor is 0
    ...ONE, ...get(RHO), ...get(RHO), ...ONE, ...F64X2_GT, ...V128_BITSELECT, ...set(X),
    ...MINUS_ONE, ...get(X), ...get(RHO), ...MINUS_ONE, ...F64X2_LT, ...V128_BITSELECT, ...set(X),
    ...get(X), ...get(RHO), ...get(RHO), ...F64X2_EQ, ...get(DIV), ...ZERO, ...F64X2_NE, ...V128_AND, ...V128_AND, ...set(X),
    ...store,
    ...get(KK), ...i32(16), ...ADD, ...set(KK), ...get(KK), ...get(END_), ...LT_U, ...BR_IF0,
    ...END,
    ...END,
  ];
};

const corrNames = [false, true].flatMap((two) => ROW_OUTPUTS.map((o) => ({ two, o, name: `corr_${two ? 2 : 1}_${o}` })));
const functions = [
  { type: 0, name: 'accumulate', body: packedBody() },
  ...corrNames.map(({ two, o, name }) => ({ type: 1, name, body: corrBody(two, o) })),
];

const bytes = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([
    [0x60, ...vec(new Array<number[]>(10).fill([I32])), 0x00], // accumulate: (i32 × 10) -> ()
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [F64], [F64]]), 0x00], // corrRow: (i32 × 6, f64 × 2) -> ()
  ])),
  ...section(3, vec(functions.map((f) => uleb(f.type)))),
  ...GROWABLE_MEMORY,
  ...section(7, vec([...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]), [...name('mem'), 0x02, 0x00]])), // exports
  ...section(10, vec(functions.map((f) => [...uleb(f.body.length), ...f.body]))),
]);

// ------------------------------------------------------------------------------------------------- the kernels
type CorrRow = (out: number, a: number, b: number, d: number, ss: number, len: number, fd: number, ssi: number) => void;
type Kernel = {
  /** src + the running cross products of c's rows, stored after each segment ([rows, dst] i32 pairs at segs). */
  accumulate: (c: number, np: number, rows: number, src: number, from: number, segs: number, nseg: number, ib0: number, ib1: number, tb0: number) => void;
  mem: WasmMemory;
} & Record<`corr_${1 | 2}_${RowOutput}`, CorrRow>;
let kernel: Kernel | null | undefined;

function instance(): Kernel | null {
  // Synchronous compile: the module is a few hundred bytes. Null without WebAssembly SIMD: the caller's JavaScript
  // loop does the work.
  if (kernel === undefined) kernel = instantiate<Kernel>(bytes);
  return kernel;
}

/** Whether the SIMD kernel runs on this engine (Node 16.4+ on x64 and arm64 has it). */
export function simdAvailable(): boolean {
  return instance() !== null;
}

// ------------------------------------------------------------------------------------------------- its memory
// Regions the callers hold (packed matrices kept across windows: src/math/block-moments.ts) are allocated from the
// bottom of the module's memory; a call's transient work area sits above them. Memory never shrinks (WebAssembly's
// cannot): freed regions are reused by size.
let top = 0;
const freed = new Map<number, number[]>();

function ensureBytes(k: Kernel, need: number): void {
  const have = k.mem.buffer.byteLength;
  if (need > have) k.mem.grow(Math.ceil((need - have) / 65536));
}

/** A region of `bytes` (16-aligned) in the kernels' memory, kept until released; null without SIMD. */
export function allocate(bytes: number): number | null {
  const k = instance();
  if (!k) return null;
  const size = (bytes + 15) & ~15;
  const reuse = freed.get(size)?.pop();
  if (reuse !== undefined) return reuse;
  const at = top;
  top += size;
  ensureBytes(k, top);
  return at;
}

export function release(at: number, bytes: number): void {
  const size = (bytes + 15) & ~15;
  if (at + size === top) {
    top = at;
    // Freed regions just below the new top go too, so the top comes back down when everything is released.
    for (let moved = true; moved; ) {
      moved = false;
      for (const [sz, list] of freed) {
        const i = list.indexOf(top - sz);
        if (i >= 0) {
          list.splice(i, 1);
          top -= sz;
          moved = true;
        }
      }
    }
    return;
  }
  const list = freed.get(size) ?? [];
  list.push(at);
  freed.set(size, list);
}

/** The transient work area: `bytes` above every held region (valid until the next allocate). */
function scratch(k: Kernel, bytes: number): number {
  ensureBytes(k, top + bytes);
  return top;
}

/** A view of the kernels' memory (a new one after the memory grew). */
export function heap(): Float64Array {
  return new Float64Array(instance()!.mem.buffer);
}

/** The kernels, for src/math/block-moments.ts; null without WebAssembly SIMD. */
export function kernels(): Kernel | null {
  return instance();
}

/**
 * The packed triangle of n columns (accumulate's layout): its size in doubles, and where each row's column i & ~1
 * is (offsets[i], in doubles from the triangle's start; a row runs on to column np − 1, np = n rounded up to 8).
 */
export function packedLayout(n: number): { size: number; offsets: Int32Array } {
  const np = (n + 7) & ~7;
  const offsets = new Int32Array(n);
  let tile = 0;
  for (let ib = 0; ib < np; ib += 8) {
    for (let i = ib; i < Math.min(ib + 8, n); i++) offsets[i] = tile + (i - ib) * (np - ib) + ((i & ~1) - ib);
    tile += 8 * (np - ib);
  }
  return { size: tile, offsets };
}

/**
 * Running cross products of rows of n columns, from the packed triangle at `src` (null: from 0): after each segment
 * of rows, the sums so far go into its triangle (`dst`, which may be src). `fill(heap, base, rows)` first writes
 * the rows into the kernels' memory in panels of 8 columns, row k's column j at
 * heap[base + (j & ~7) * rows + 8 k + (j & 7)] for j < n (the padding columns are zeroed here): a kernel tile reads
 * its 8 columns' rows one after the other (64 bytes a row), not one page apart. Every segment has at least one
 * row. False without SIMD.
 */
export function addProducts(n: number, segments: readonly { rows: number; dst: number }[], fill: (heap: Float64Array, base: number, rows: number) => void, src: number | null): boolean {
  const k = instance();
  if (!k || n === 0 || segments.length === 0) return false;
  const np = (n + 7) & ~7;
  const rows = segments.reduce((sum, s) => sum + s.rows, 0);
  const c0 = scratch(k, rows * np * 8 + segments.length * 8);
  const segs = c0 + rows * np * 8;
  const h = new Float64Array(k.mem.buffer);
  // The last panel's padding columns are 0.
  h.fill(0, c0 / 8 + (np - 8) * rows, c0 / 8 + np * rows);
  fill(h, c0 / 8, rows);
  const table = new Int32Array(k.mem.buffer, segs, 2 * segments.length);
  segments.forEach((s, i) => {
    table[2 * i] = s.rows;
    table[2 * i + 1] = s.dst;
  });
  // In bands of 64 rows: the engine optimises a WebAssembly function after some calls, and a product
  // in one call would run unoptimised (about 3x slower) in every thread's first few.
  for (let ib0 = 0, tb0 = 0; ib0 < np; ib0 += 64) {
    const ib1 = Math.min(np, ib0 + 64);
    k.accumulate(c0, np, rows, src ?? 0, src === null ? 0 : 1, segs, segments.length, ib0, ib1, tb0);
    for (let ib = ib0; ib < ib1; ib += 8) tb0 += 8 * (np - ib) * 8;
  }
  return true;
}

/**
 * Cross products from 0 of rows of n columns (`fill` writes them as for addProducts), handed over a band of 64 rows
 * of the packed triangle at a time: `band(heap, at, tile0, ib0, ib1)` while rows ib0 … ib1 − 1 are in the kernels'
 * memory, row i's column i & ~1 at byte at + (offsets[i] − tile0) * 8 (packedLayout's offsets). No triangle of n² / 2
 * is held: the direct path's memory is the rows and one band. The first `reserve` bytes of the transient area
 * (transient()) are left to the caller. False without SIMD.
 */
export function productBands(n: number, rows: number, reserve: number, fill: (heap: Float64Array, base: number, rows: number) => void, band: (heap: Float64Array, at: number, tile0: number, ib0: number, ib1: number) => void): boolean {
  const k = instance();
  if (!k || n === 0 || rows === 0) return false;
  const np = (n + 7) & ~7;
  const skip = (reserve + 15) & ~15;
  const c0 = scratch(k, skip + rows * np * 8 + 16 + 64 * np * 8) + skip;
  const segs = c0 + rows * np * 8;
  const at = segs + 16;
  const h = new Float64Array(k.mem.buffer);
  h.fill(0, c0 / 8 + (np - 8) * rows, c0 / 8 + np * rows);
  fill(h, c0 / 8, rows);
  const table = new Int32Array(k.mem.buffer, segs, 2);
  table[0] = rows;
  table[1] = at;
  for (let ib0 = 0, tile0 = 0; ib0 < np; ib0 += 64) {
    const ib1 = Math.min(np, ib0 + 64);
    // tb0 = 0: the band's tiles are stored from `at` on, as if the triangle started at the band.
    k.accumulate(c0, np, rows, 0, 0, segs, 1, ib0, ib1, 0);
    band(h, at, tile0, ib0, ib1);
    for (let ib = ib0; ib < ib1; ib += 8) tile0 += 8 * (np - ib);
  }
  return true;
}

/** The first free byte above the held regions: a caller's own transient area of `bytes` starts here. */
export function transient(bytes: number): number | null {
  const k = instance();
  if (!k) return null;
  return scratch(k, bytes);
}

/**
 * Cross products of the columns of a centred, symbol-major matrix (centred[j * days + k]) for every pair i <= j,
 * written into `out` (row-major n × n, upper triangle and diagonal; the lower triangle is left as it was).
 * Returns false (nothing written) when WebAssembly SIMD is not available.
 */
export function crossProductsUpper(centred: Float64Array, n: number, days: number, out: Float64Array): boolean {
  const { offsets } = packedLayout(n);
  return productBands(
    n,
    days,
    0,
    (mem, base) => {
      for (let j = 0; j < n; j++) for (let t = 0; t < days; t++) mem[base + (j & ~7) * days + (j & 7) + 8 * t] = centred[j * days + t]!;
    },
    (mem, at, tile0, ib0, ib1) => {
      // Row i of the band holds columns i & ~1 … np − 1.
      for (let i = ib0; i < Math.min(ib1, n); i++) {
        const from = at / 8 + offsets[i]! - tile0 + (i & 1);
        out.set(mem.subarray(from, from + n - i), i * n + i);
      }
    },
  );
}
