/**
 * The few pieces needed to write a WebAssembly module out instruction by instruction in TypeScript and load it
 * synchronously: LEB128 numbers, sections, the opcodes the math kernels use. No toolchain, nothing prebuilt: a
 * kernel file lists its instructions (with the WAT beside each line) and calls `instantiate`.
 */

export const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
export const sleb = (v: number): number[] => {
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
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

export const get = (l: number) => [0x20, ...uleb(l)]; // local.get
export const set = (l: number) => [0x21, ...uleb(l)]; // local.set
export const tee = (l: number) => [0x22, ...uleb(l)]; // local.tee
export const i32 = (v: number) => [0x41, ...sleb(v)]; // i32.const
export const I32_ADD = [0x6a];
export const I32_SUB = [0x6b];
export const I32_MUL = [0x6c];
export const I32_NE = [0x47];
export const I32_SHL = [0x74];
export const I32_SHR_U = [0x76];
export const F64_ADD = [0xa0];
export const I32_TRUNC_F64_U = [0xab];
export const I32_LOAD = (offset: number) => [0x28, 2, ...uleb(offset)]; // i32.load align=4
export const F64_LOAD = (offset: number) => [0x2b, 3, ...uleb(offset)]; // f64.load align=8
export const F64_STORE = (offset: number) => [0x39, 3, ...uleb(offset)]; // f64.store align=8
export const LOOP = [0x03, 0x40]; // loop (no result)
export const BLOCK = [0x02, 0x40]; // block (no result)
export const END = [0x0b];
export const BR_IF0 = [0x0d, 0x00]; // br_if 0 (the innermost loop)
export const BR = (depth: number) => [0x0c, ...uleb(depth)]; // br: a loop's start, a block's end
export const BR_IF = (depth: number) => [0x0d, ...uleb(depth)];
export const RETURN = [0x0f];
export const SELECT = [0x1b]; // a, b, c -> c ? a : b
export const F64_LT = [0x63];
export const F64_EQ = [0x61];

const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
export const V128_LOAD = (offset: number) => simd(0x00, 3, ...uleb(offset)); // v128.load align=8
export const V128_STORE = (offset: number) => simd(0x0b, 3, ...uleb(offset)); // v128.store align=8
/** v128.const of two f64 lanes. */
export const F64X2_CONST = (a: number, b: number) => simd(0x0c, ...new Uint8Array(Float64Array.of(a, b).buffer));
export const F64X2_SPLAT = simd(0x14);
export const V128_BITSELECT = simd(0x52);
/** i8x16.shuffle: byte k of the result is byte lanes[k] of a ++ b (0-15 from a, 16-31 from b). */
export const I8X16_SHUFFLE = (lanes: number[]) => simd(0x0d, ...lanes);
export const F64X2_LT = simd(0x49);
export const F64X2_EQ = simd(0x47);
export const F64X2_EXTRACT_LANE = (lane: number) => simd(0x21, lane);
export const F64X2_REPLACE_LANE = (lane: number) => simd(0x22, lane);
export const V128_ANY_TRUE = simd(0x53);
/** f64x2.pmin(a, b) = b < a ? b : a, lane by lane (a strict <: a NaN b is never taken). */
export const F64X2_PMIN = simd(0xf6);
export const F64X2_SQRT = simd(0xef);
export const F64X2_ADD = simd(0xf0);
export const F64X2_SUB = simd(0xf1);
export const F64X2_MUL = simd(0xf2);
export const F64X2_DIV = simd(0xf3);

/** A function: its parameter and result types, its locals (runs of [count, type]) and its body (without `end`). */
export interface WasmFunction {
  exportAs: string;
  params: number[];
  results?: number[];
  locals: [number, number][];
  body: number[];
}

/**
 * The memory section of a module with one memory: 1 page to start, growing to at most 65536 (4 GiB, address space
 * only), shared. Shared, so that it grows in place: growing an ordinary memory detaches the ArrayBuffer it had, and
 * V8 answers the first detach in a process by throwing away every optimised function that reads a typed array (13 at
 * once in a walk-forward run at N=500) to compile them again with a check for a detached buffer. Nothing else changes:
 * no atomics, the same loads and stores, views of it taken again after it grows (test/math/wasm-memory.test.ts).
 */
export const GROWABLE_MEMORY = section(5, vec([[0x03, ...uleb(1), ...uleb(65536)]]));

/** A module of these functions and one growable memory (GROWABLE_MEMORY) exported as `mem`. */
export function assemble(functions: WasmFunction[]): Uint8Array {
  const bodies = functions.map((f) => {
    const b = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, ...END];
    return [...uleb(b.length), ...b];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec((f.results ?? []).map((r) => [r]))]))),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...GROWABLE_MEMORY,
    ...section(7, vec([...functions.map((f, i) => [...name(f.exportAs), 0x00, ...uleb(i)]), [...name('mem'), 0x02, 0x00]])),
    ...section(10, vec(bodies)),
  ]);
}

export interface WasmMemory {
  /** A SharedArrayBuffer (GROWABLE_MEMORY): after a grow, a new one spans the whole memory. */
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
/** The engine's WebAssembly API (the project's TypeScript libs leave it undeclared). */
const wasm = (globalThis as unknown as { WebAssembly?: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;

/** Synchronous instance of a small module, or null when this engine has no WebAssembly (SIMD). */
export function instantiate<T>(bytes: Uint8Array): T | null {
  try {
    if (!wasm) return null;
    return new wasm.Instance(new wasm.Module(bytes)).exports as T;
  } catch {
    return null;
  }
}

/** Grows a module's memory to at least `bytes`; false when the engine refuses (the caller falls back). */
export function ensureMemory(mem: WasmMemory, bytes: number): boolean {
  const have = mem.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    mem.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false;
  }
}
