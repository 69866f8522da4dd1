/**
 * Stage checkpoints: what a run's context held after each stage, so a later run can start from a stage and take the
 * earlier stages' outputs from this one (`pipeline-run run <file> --from <stage> --reuse <run>`, src/pipeline/reuse.ts).
 *
 *   checkpoints/<index>.json      per stage: its prefix hash (config of the stages up to it, the pipeline's own plugin
 *                                 modules and input files), the engine's code fingerprint, the context's fields as
 *                                 blob hashes (and each blob's size), the fields that are not plain data (a handle on
 *                                 the market) with the stage that made them, the artifacts and metrics sections the
 *                                 stage wrote (each write with the sha256 and size of the file it left), the data
 *                                 sources recorded so far
 *   checkpoints/blobs/<sha256>    one field's value, v8-serialised (typed arrays, Maps and Dates kept), stored once
 *                                 however many stages hold it unchanged
 *
 * Checkpoints are not artifacts (the manifest's `artifacts` does not list them; they hold nothing a reader needs) and
 * only top-level runs write them. Every file is written whole.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { DataSource } from '../core/plugin.js';
import { systemError } from '../core/errors.js';
import { writeWhole } from './write-whole.js';

export const CHECKPOINT_DIR = 'checkpoints';

/** What one stage left: enough to restore the context after it and the files it wrote. */
export interface StageCheckpoint {
  index: number;
  type: string;
  /** sha256 of what decides the stages up to this one (src/pipeline/reuse.ts prefixHash). */
  prefix_hash: string;
  /** sha256 of each stage's params up to this one, to say which stage changed when a prefix does not match. */
  params_hashes: string[];
  /** The engine's code (result-cache codeFingerprint): another build's checkpoints are not reused. */
  code: string;
  /** Context fields that are plain data, by name (`extra.<key>` for ctx.extra's), as blob hashes. */
  fields: Record<string, string>;
  /** Fields that are not plain data (functions, class instances: a handle on the market), and the stage that made each. */
  unrestorable: Record<string, number>;
  /** The artifacts the stage wrote whole, in the order it wrote them (run-folder relative). */
  artifacts: string[];
  /** The sections of shared JSON files (metrics.json) the stage wrote. */
  sections: { file: string; section: string }[];
  /**
   * Every write of the stage in order: whole files and sections (what a reusing run replays), each with the sha256 and
   * size of the whole file as it left it (a section's write rewrites its file). Checkpoints made before these were
   * recorded have neither (such a run was made by other code, and is not reused).
   */
  writes?: { file: string; section?: string; sha256?: string; size?: number }[];
  /** Each blob `fields` names (by its sha256), with its size in bytes: checked before the blob is read. */
  blobs?: Record<string, number>;
  /** The data sources recorded up to and including this stage. */
  data: DataSource[];
  /** How long making this checkpoint took (serialising, hashing, writing), in ms: its cost to the run. */
  ms?: number;
}

/**
 * Plain data survives v8 serialisation as itself: primitives, typed arrays, Dates, and arrays, Maps, Sets and plain
 * objects of them. An object with an accessor does not (serialising calls its getter and stores what it returned):
 * a value made on read, such as the returns panel's price columns, is made again by the stage that made it.
 */
export function isPlainData(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'number' || t === 'string' || t === 'boolean' || t === 'bigint') return true;
  if (t !== 'object') return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return true;
  if (seen.has(v)) return true;
  seen.add(v);
  // every(), not v[i] in a loop: optimised code loading elements of both packed and holey arrays may turn a packed
  // array holey in place, which changes its blob. Maps and Sets are walked without a spread copy.
  if (Array.isArray(v)) return v.every((x) => isPlainData(x, seen));
  if (v instanceof Map) {
    for (const [k, x] of v) if (!isPlainData(k, seen) || !isPlainData(x, seen)) return false;
    return true;
  }
  if (v instanceof Set) {
    for (const x of v) if (!isPlainData(x, seen)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (d.get || d.set || !isPlainData(d.value, seen)) return false;
  }
  return true;
}

/**
 * A copy of plain data whose V8 serialisation depends on its values alone. V8 writes an array in one of two forms
 * by how its elements are stored (packed: dense; holey: sparse), and a typed array with its whole underlying buffer:
 * the same cells made in this process and read back from a worker's JSON gave two blobs. Here every array is built
 * by push (packed), every typed array owns exactly its bytes; shared references stay shared.
 */
export function canonicalCopy<T>(value: T, made = new Map<unknown, unknown>()): T {
  if (value === null || typeof value !== 'object') return value;
  if (made.has(value)) return made.get(value) as T;
  const v = value as unknown;
  let out: unknown;
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    made.set(v, a);
    for (let i = 0; i < v.length; i++) a.push(canonicalCopy(v[i], made));
    return a as T;
  }
  if (ArrayBuffer.isView(v)) {
    const whole = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !(v.buffer instanceof SharedArrayBuffer);
    out = whole ? v : v instanceof DataView ? new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)) : new (v.constructor as new (x: ArrayBufferView) => ArrayBufferView)(v);
  } else if (v instanceof Map) {
    const m = new Map();
    made.set(v, m);
    for (const [k, x] of v) m.set(canonicalCopy(k, made), canonicalCopy(x, made));
    return m as T;
  } else if (v instanceof Set) {
    const st = new Set();
    made.set(v, st);
    for (const x of v) st.add(canonicalCopy(x, made));
    return st as T;
  } else if (v instanceof Date || v instanceof RegExp || v instanceof ArrayBuffer) out = v;
  else {
    const from = v as Record<string, unknown>;
    const o: Record<string, unknown> = Object.getPrototypeOf(from) === null ? Object.create(null) : {};
    made.set(v, o);
    for (const k of Object.keys(from)) o[k] = canonicalCopy(from[k], made);
    return o as T;
  }
  made.set(v, out);
  return out as T;
}

/** The context's fields by name: its own keys but `extra`, and each of ctx.extra's as `extra.<key>`. */
export function contextFields(ctx: object): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(ctx)) {
    if (k === 'extra' && v && typeof v === 'object') for (const [e, x] of Object.entries(v as Record<string, unknown>)) out.set(`extra.${e}`, x);
    else out.set(k, v);
  }
  return out;
}

/** Sets a field by name on a context (the inverse of contextFields). */
export function setContextField(context: object, name: string, value: unknown): void {
  const ctx = context as Record<string, unknown>;
  if (name.startsWith('extra.')) ((ctx.extra ??= {}) as Record<string, unknown>)[name.slice(6)] = value;
  else ctx[name] = value;
}

export class CheckpointWriter {
  private readonly dir: string;
  /** The blobs this run's checkpoints hold, with their sizes. */
  private readonly blobs = new Map<string, number>();
  constructor(runDir: string) {
    this.dir = join(runDir, CHECKPOINT_DIR);
  }

  /** Stores one field's value (once per content) and returns its hash. */
  blob(value: unknown): string {
    const bytes = serialize(canonicalCopy(value));
    const sha = createHash('sha256').update(bytes).digest('hex');
    this.store(sha, bytes);
    return sha;
  }

  /**
   * Copies a blob of another run's checkpoints (a reused stage's) into this run's, byte for byte under its name: the
   * checkpoints that name it are copied as they are. (Serialising the restored value again need not give the same
   * bytes: V8 writes a deserialised array back as a sparse one, so its blob would get another name.)
   */
  copyBlob(fromRunDir: string, sha: string): void {
    if (this.blobs.has(sha)) return;
    this.store(sha, readBlobBytes(fromRunDir, sha));
  }

  /** A blob's size in bytes (one this run stored or copied; else as its file says). */
  sizeOf(sha: string): number {
    return this.blobs.get(sha) ?? statSync(join(this.dir, 'blobs', sha)).size;
  }

  private store(sha: string, bytes: Uint8Array): void {
    if (this.blobs.has(sha)) return;
    try {
      if (!this.blobs.size) mkdirSync(join(this.dir, 'blobs'), { recursive: true });
      const path = join(this.dir, 'blobs', sha);
      if (!existsSync(path)) writeWhole(path, bytes);
    } catch (err) {
      throw systemError(err, `writing a stage checkpoint in ${this.dir}`);
    }
    this.blobs.set(sha, bytes.byteLength);
  }

  write(cp: StageCheckpoint): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      writeWhole(join(this.dir, `${cp.index}.json`), `${JSON.stringify(cp, null, 1)}\n`);
    } catch (err) {
      throw systemError(err, `writing a stage checkpoint in ${this.dir}`);
    }
  }
}

/** A run's checkpoint of stage `index`, or undefined when it has none (an older run, or it failed before). */
export function readCheckpoint(runDir: string, index: number): StageCheckpoint | undefined {
  const file = join(runDir, CHECKPOINT_DIR, `${index}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StageCheckpoint;
  } catch {
    return undefined;
  }
}

/** A blob's bytes, checked against its name: a changed or torn blob is refused, never restored. */
function readBlobBytes(runDir: string, sha: string): Uint8Array {
  const bytes = readFileSync(join(runDir, CHECKPOINT_DIR, 'blobs', sha));
  if (createHash('sha256').update(bytes).digest('hex') !== sha) throw new Error(`checkpoint blob ${sha} does not match its hash`);
  return bytes;
}

/** Why a blob cannot be restored (missing, unreadable, or not the bytes its name says), or undefined when it can. */
export function blobProblem(runDir: string, sha: string): string | undefined {
  try {
    readBlobBytes(runDir, sha);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `checkpoint blob ${sha.slice(0, 12)}… is missing` : err instanceof Error && /does not match/.test(err.message) ? `checkpoint blob ${sha.slice(0, 12)}… does not match its hash (changed or torn)` : `checkpoint blob ${sha.slice(0, 12)}… is unreadable (${(err as Error).message})`;
  }
}

export function readBlob(runDir: string, sha: string): unknown {
  return deserialize(readBlobBytes(runDir, sha));
}
