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
 *
 * A run reusing another reads that run's files as its input (src/pipeline/reuse.ts): through readRunFile only (a
 * regular file inside the run folder, never a link, a pipe or a device; of the size recorded, checked before it is
 * read), each checkpoint checked for its shape and for paths that leave the folder (checkpointProblem).
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, mkdirSync, readSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { DataSource } from '../core/plugin.js';
import { systemError } from '../core/errors.js';
import { NotRegularFile, openRegularSync } from '../util/regular-file.js';
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
   * Copies a blob of another run's checkpoints (a reused stage's, its bytes as checked against its name) into this
   * run's, byte for byte under its name: the checkpoints that name it are copied as they are. (Serialising the
   * restored value again need not give the same bytes: V8 writes a deserialised array back as a sparse one, so its
   * blob would get another name.)
   */
  copyBlob(sha: string, bytes: Uint8Array): void {
    this.store(sha, bytes);
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

/** What is wrong with a file of a run to reuse, as a phrase naming it ("winners.json is a symbolic link ..."). */
export class RunFileProblem extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'link' | 'outside' | 'special' | 'size' | 'unreadable',
    /** For `size`: the size the file has. */
    readonly actual?: number,
  ) {
    super(message);
  }
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * A file of a run folder, read as input (another run's, to reuse): `rel` inside `runDir` (no link on the way leading
 * out of it), itself a regular file and no link (opened without following one, nor waiting on a pipe), of `size`
 * bytes when that is given (checked before a byte is read), and never more bytes than it had when opened. Anything
 * else is a RunFileProblem naming it (`name`, default `rel`); nothing outside the folder is opened.
 */
export function readRunFile(runDir: string, rel: string, opts: { size?: number; name?: string } = {}): Buffer {
  const name = opts.name ?? rel;
  const full = join(runDir, rel);
  let fd: number;
  let st: BigIntStats;
  try {
    const root = realpathSync(runDir);
    const parent = realpathSync(dirname(full));
    if (parent !== root && !parent.startsWith(root + sep)) throw new RunFileProblem(`${name} is outside the run folder (a symbolic link on its way leads out of it)`, 'outside');
    if (lstatSync(full).isSymbolicLink()) throw new RunFileProblem(`${name} is a symbolic link (a run writes none); it is not followed`, 'link');
    ({ fd, st } = openRegularSync(full, NOFOLLOW));
  } catch (err) {
    throw runFileProblem(err, name);
  }
  try {
    const size = Number(st.size);
    if (opts.size !== undefined && size !== opts.size) throw new RunFileProblem(`${name} is ${size} bytes, its checkpoint recorded ${opts.size}`, 'size', size);
    // One byte more than its size, to tell a file that grows while it is read.
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    if (n !== size) throw new RunFileProblem(`${name} changed while it was read`, 'size', n);
    return buf.subarray(0, n);
  } catch (err) {
    throw runFileProblem(err, name);
  } finally {
    closeSync(fd);
  }
}

function runFileProblem(err: unknown, name: string): RunFileProblem {
  if (err instanceof RunFileProblem) return err;
  if (err instanceof NotRegularFile) return new RunFileProblem(`${name} is not a regular file (a device, a pipe or a folder); it is not read`, 'special');
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new RunFileProblem(`${name} is missing`, 'missing');
  if (code === 'ELOOP') return new RunFileProblem(`${name} is a symbolic link (a run writes none); it is not followed`, 'link');
  return new RunFileProblem(`${name} is unreadable (${(err as Error).message})`, 'unreadable');
}

/** The files of its own a run keeps beside its artifacts: a checkpoint that names one as an artifact is damaged. */
const RUN_OWN = new Set(['manifest.json', 'audit.jsonl', 'FAILED', 'RUNNING', CHECKPOINT_DIR]);
const SHA256 = /^[0-9a-f]{64}$/;
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Why `p`, an artifact a checkpoint names, is no artifact path of a run folder, or undefined when it is one. */
function artifactPathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || !p) return `names an artifact that is not a path (${JSON.stringify(p)})`;
  const parts = p.split(/[\\/]/);
  if (isAbsolute(p) || /^[a-zA-Z]:/.test(p) || parts.includes('..') || p.includes('\0')) return `names '${p}', which is outside the run folder`;
  if (normalize(p) !== p || parts.includes('.')) return `names '${p}', which is not a path as a run writes one`;
  if (RUN_OWN.has(parts[0]!)) return `names '${p}', a file the run keeps for itself, as an artifact`;
  return undefined;
}

/**
 * Why a parsed checkpoints/<index>.json is not a stage checkpoint a run can be restored from, or undefined: its shape,
 * every path it names (inside the run folder, relative, no `..`) and every blob name (a sha256).
 */
export function checkpointProblem(cp: unknown, index: number): string | undefined {
  if (!isRecord(cp)) return 'is not a stage checkpoint (not an object)';
  const bad = (what: string) => `is not a stage checkpoint (${what})`;
  if (cp.index !== index) return bad(`its index is ${JSON.stringify(cp.index)}`);
  for (const k of ['type', 'prefix_hash', 'code'] as const) if (typeof cp[k] !== 'string') return bad(`no ${k}`);
  if (!Array.isArray(cp.params_hashes) || !cp.params_hashes.every((h) => typeof h === 'string')) return bad('params_hashes is not a list of hashes');
  if (!isRecord(cp.fields)) return bad('no fields');
  for (const [k, v] of Object.entries(cp.fields)) if (typeof v !== 'string' || !SHA256.test(v)) return `names the blob ${JSON.stringify(v)} for ${k}, which is not a blob name (a sha256)`;
  if (!isRecord(cp.unrestorable)) return bad('no unrestorable');
  for (const [k, v] of Object.entries(cp.unrestorable)) if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > index) return bad(`unrestorable.${k} is not a stage index up to ${index}`);
  if (cp.blobs !== undefined && (!isRecord(cp.blobs) || !Object.entries(cp.blobs).every(([k, v]) => SHA256.test(k) && Number.isInteger(v) && (v as number) >= 0))) return bad('blobs is not a size by blob name');
  if (!Array.isArray(cp.data) || !cp.data.every((d) => isRecord(d) && typeof d.data_hash === 'string' && typeof d.entries === 'number')) return bad('data is not a list of data sources');
  if (!Array.isArray(cp.artifacts)) return bad('artifacts is not a list');
  for (const a of cp.artifacts) {
    const problem = artifactPathProblem(a);
    if (problem) return problem;
  }
  if (!Array.isArray(cp.sections)) return bad('sections is not a list');
  for (const w of [...cp.sections, ...(Array.isArray(cp.writes) ? cp.writes : [])]) {
    if (!isRecord(w)) return bad('a write is not an object');
    const problem = artifactPathProblem(w.file);
    if (problem) return problem;
    if (w.section !== undefined && typeof w.section !== 'string') return bad(`a section of ${w.file} is not a name`);
    if ((w.sha256 !== undefined && (typeof w.sha256 !== 'string' || !SHA256.test(w.sha256))) || (w.size !== undefined && (!Number.isInteger(w.size) || (w.size as number) < 0))) return bad(`the hash or size of ${w.file} is not one`);
  }
  if (cp.writes !== undefined && !Array.isArray(cp.writes)) return bad('writes is not a list');
  return undefined;
}

/**
 * Whether a checkpoint records the content of everything it names: each write's sha256 and size, each blob's size.
 * Those made before Fractal recorded them do not (and were made by other code).
 */
export function isHashed(cp: StageCheckpoint): boolean {
  return !!cp.writes && cp.writes.every((w) => w.sha256 !== undefined && w.size !== undefined) && !!cp.blobs && Object.values(cp.fields).every((b) => cp.blobs![b] !== undefined);
}

/**
 * A run's checkpoint of stage `index`, read as input: undefined when it has none (an older run, or it failed before);
 * a RunFileProblem naming checkpoints/<index>.json when it is there but no checkpoint (torn, edited, a link).
 */
export function loadCheckpoint(runDir: string, index: number): StageCheckpoint | undefined {
  const rel = `${CHECKPOINT_DIR}/${index}.json`;
  let bytes: Buffer;
  try {
    bytes = readRunFile(runDir, rel);
  } catch (err) {
    if (err instanceof RunFileProblem && err.kind === 'missing') return undefined;
    throw err;
  }
  let cp: unknown;
  try {
    cp = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RunFileProblem(`its ${rel} is not valid JSON (${(err as Error).message})`, 'unreadable');
  }
  const problem = checkpointProblem(cp, index);
  if (problem) throw new RunFileProblem(`its ${rel} ${problem}`, 'unreadable');
  return cp as StageCheckpoint;
}

/** A run's checkpoint of stage `index`, or undefined when it has none or it is damaged (loadCheckpoint says which). */
export function readCheckpoint(runDir: string, index: number): StageCheckpoint | undefined {
  try {
    return loadCheckpoint(runDir, index);
  } catch {
    return undefined;
  }
}

/**
 * A blob's bytes, read as input (readRunFile: a regular file of `size` bytes when that is known) and checked against
 * its name: a changed, torn or linked blob is a RunFileProblem, never restored.
 */
export function readBlobBytes(runDir: string, sha: string, size?: number): Buffer {
  const name = `checkpoint blob ${sha.slice(0, 12)}…`;
  if (!SHA256.test(sha)) throw new RunFileProblem(`the blob name ${JSON.stringify(sha)} is not a sha256`, 'outside');
  let bytes: Buffer;
  try {
    bytes = readRunFile(runDir, `${CHECKPOINT_DIR}/blobs/${sha}`, { name, ...(size !== undefined ? { size } : {}) });
  } catch (err) {
    if (err instanceof RunFileProblem && err.kind === 'size') throw new RunFileProblem(`${name} is ${err.actual} bytes, its checkpoint recorded ${size} (changed or torn)`, 'size', err.actual);
    throw err;
  }
  if (createHash('sha256').update(bytes).digest('hex') !== sha) throw new RunFileProblem(`${name} does not match its hash (changed or torn)`, 'unreadable');
  return bytes;
}

export function readBlob(runDir: string, sha: string, size?: number): unknown {
  return deserialize(readBlobBytes(runDir, sha, size));
}
