/**
 * Cross products of centred returns, Σ_k x_ik x_jk for every pair i <= j, in WebAssembly SIMD: the hot loop of the
 * clustering's correlation (504 million multiply-adds per window at 2000 symbols × 252 days).
 *
 * Same bits as the JavaScript loop: the two lanes of an f64x2 are two different pairs (i, j) and (i, j + 1), each
 * summed day by day from 0 in day order, a multiply then an add (WebAssembly never fuses them), exactly as
 * `s += x * y` does. So the SIMD changes which pairs are computed together, never the arithmetic of one pair.
 *
 * The module is written out below instruction by instruction (the WAT beside each line), assembled here at
 * load time: no toolchain, nothing prebuilt. Layout in its memory: the centred matrix day-major,
 * c[k * np + j] (np = the symbol count rounded up to 8, the padding columns zero), then the output of one band
 * of 64 rows (row-major, np wide), of which the caller copies the upper triangle of the first n rows and columns. The kernel takes 8 rows
 * (i) and 2 columns (j) at a time: per day one 2-lane load of the columns, 8 splat loads of the rows (one cache
 * line), 8 multiplies and 8 adds into 8 accumulators.
 */

// ------------------------------------------------------------------------------------------------- assembling
const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;
// Locals: the four parameters, then the i32 and v128 locals.
const [C, NP, L, OUT, IB0, IB1] = [0, 1, 2, 3, 4, 5];
const [STRIDE, IB, JB, P, Q, K, O] = [6, 7, 8, 9, 10, 11, 12];
const ACC = [13, 14, 15, 16, 17, 18, 19, 20];
const Y = 21;

const get = (l: number) => [0x20, ...uleb(l)]; // local.get
const set = (l: number) => [0x21, ...uleb(l)]; // local.set
const i32 = (v: number) => [0x41, ...sleb(v)]; // i32.const
const ADD = [0x6a]; // i32.add
const SUB = [0x6b]; // i32.sub
const MUL = [0x6c]; // i32.mul
const SHL = [0x74]; // i32.shl
const LT_U = [0x49]; // i32.lt_u
const LOOP = [0x03, 0x40]; // loop (no result)
const END = [0x0b];
const BR_IF0 = [0x0d, 0x00]; // br_if 0 (the innermost loop)
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const V128_LOAD = (offset: number) => simd(0x00, 3, ...uleb(offset)); // v128.load align=8
const LOAD64_SPLAT = (offset: number) => simd(0x0a, 3, ...uleb(offset)); // v128.load64_splat align=8
const V128_STORE = (offset: number) => simd(0x0b, 3, ...uleb(offset)); // v128.store align=8
const V128_ZERO = simd(0x0c, ...new Array<number>(16).fill(0)); // v128.const 0
const F64X2_ADD = simd(0xf0);
const F64X2_MUL = simd(0xf2);

const body: number[] = [
  ...vec([
    [...uleb(7), I32],
    [...uleb(9), V128],
  ]),
  ...get(NP), ...i32(3), ...SHL, ...set(STRIDE), //                 stride = np << 3 (bytes per day)
  ...get(IB0), ...set(IB), //                                        ib = ib0
  ...LOOP, //                                                        loop $rows
  ...get(IB), ...set(JB), //                                           jb = ib
  ...LOOP, //                                                          loop $columns
  ...ACC.flatMap((a) => [...V128_ZERO, ...set(a)]), //                   acc0..7 = 0
  ...get(C), ...get(IB), ...i32(3), ...SHL, ...ADD, ...set(P), //        p = c + ib * 8   (day 0, row ib)
  ...get(C), ...get(JB), ...i32(3), ...SHL, ...ADD, ...set(Q), //        q = c + jb * 8   (day 0, column jb)
  ...get(L), ...set(K), //                                               k = days
  ...LOOP, //                                                            loop $days
  ...get(Q), ...V128_LOAD(0), ...set(Y), //                                y = c[k][jb], c[k][jb + 1]
  ...ACC.flatMap((a, r) => [...get(a), ...get(P), ...LOAD64_SPLAT(8 * r), ...get(Y), ...F64X2_MUL, ...F64X2_ADD, ...set(a)]), // acc_r += splat(c[k][ib + r]) * y
  ...get(P), ...get(STRIDE), ...ADD, ...set(P), //                         p += stride
  ...get(Q), ...get(STRIDE), ...ADD, ...set(Q), //                         q += stride
  ...get(K), ...i32(1), ...SUB, ...set(K), ...get(K), ...BR_IF0, //        if (--k) continue $days
  ...END,
  ...get(OUT), ...get(IB), ...get(IB0), ...SUB, ...get(NP), ...MUL, ...get(JB), ...ADD, ...i32(3), ...SHL, ...ADD, ...set(O), // o = out + ((ib - ib0) * np + jb) * 8
  ...ACC.flatMap((a) => [...get(O), ...get(a), ...V128_STORE(0), ...get(O), ...get(STRIDE), ...ADD, ...set(O)]), // out[ib + r][jb..jb+1] = acc_r
  ...get(JB), ...i32(2), ...ADD, ...set(JB), ...get(JB), ...get(NP), ...LT_U, ...BR_IF0, // jb += 2; while jb < np
  ...END,
  ...get(IB), ...i32(8), ...ADD, ...set(IB), ...get(IB), ...get(IB1), ...LT_U, ...BR_IF0, //   ib += 8; while ib < ib1
  ...END,
  ...END,
];

const bytes = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 0x00]])), // type (i32 × 6) -> ()
  ...section(3, vec([uleb(0)])), //                                                 func 0 has type 0
  ...section(5, vec([[0x00, ...uleb(1)]])), //                                      memory: 1 page, grows
  ...section(7, vec([[...name('cross'), 0x00, 0x00], [...name('mem'), 0x02, 0x00]])), // exports
  ...section(10, vec([[...uleb(body.length), ...body]])),
]);

// ------------------------------------------------------------------------------------------------- the kernel
interface Kernel {
  /** Rows [ib0, ib1) (multiples of 8) against columns ib0 … np − 1, into out as (ib1 − ib0) × np rows. */
  cross: (c: number, np: number, days: number, out: number, ib0: number, ib1: number) => void;
  mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
}
/** The engine's WebAssembly API (the project's TypeScript libs leave it undeclared). */
const wasm = (globalThis as unknown as { WebAssembly?: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;
let kernel: Kernel | null | undefined;

function instance(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    // Synchronous compile: the module is a few hundred bytes.
    if (!wasm) throw new Error('no WebAssembly');
    kernel = new wasm.Instance(new wasm.Module(bytes)).exports as Kernel;
  } catch {
    kernel = null; // no WebAssembly SIMD here: the caller's JavaScript loop does the work
  }
  return kernel;
}

/** Whether the SIMD kernel runs on this engine (Node 16.4+ on x64 and arm64 has it). */
export function simdAvailable(): boolean {
  return instance() !== null;
}

/**
 * Cross products of the columns of a centred, symbol-major matrix (centred[j * days + k]) for every pair i <= j,
 * written into `out` (row-major n × n, upper triangle and diagonal; the lower triangle is left as it was).
 * Returns false (nothing written) when WebAssembly SIMD is not available.
 */
export function crossProductsUpper(centred: Float64Array, n: number, days: number, out: Float64Array): boolean {
  const k = instance();
  if (!k || n === 0 || days === 0) return false;
  const np = (n + 7) & ~7;
  const cBytes = days * np * 8;
  // Rows go in bands of 64: the output in WebAssembly memory is 64 rows, not n × n (200 MB at n = 5000).
  const band = 64;
  const need = cBytes + band * np * 8;
  const have = k.mem.buffer.byteLength;
  if (need > have) k.mem.grow(Math.ceil((need - have) / 65536));
  const heap = new Float64Array(k.mem.buffer);
  // Day-major copy of the centred columns; the padding columns are zero.
  for (let k2 = 0; k2 < days; k2++) {
    const row = k2 * np;
    for (let j = 0; j < n; j++) heap[row + j] = centred[j * days + k2]!;
    for (let j = n; j < np; j++) heap[row + j] = 0;
  }
  const base = cBytes / 8;
  for (let ib0 = 0; ib0 < np; ib0 += band) {
    const ib1 = Math.min(np, ib0 + band);
    k.cross(0, np, days, cBytes, ib0, ib1);
    for (let i = ib0; i < Math.min(ib1, n); i++) out.set(heap.subarray(base + (i - ib0) * np + i, base + (i - ib0) * np + n), i * n + i);
  }
  return true;
}
