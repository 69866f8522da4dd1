/**
 * What the submitter (queue-executor.ts), the workers (queue-worker.ts) and `queue status` share: the Redis
 * connection as BullMQ needs it, the job shapes, the job options (retries, retention) and where a child's result
 * lives on the shared runs root. docs/distributed.md explains the design.
 *
 * A child job (a sleeve or a cell) has the content identity of what it computes as its id (the result cache's key:
 * resolved config, data identity, inputs, engine code); a run's batch of children hangs under one parent job (a
 * "gather" job) whose id is a hash of its children's ids, so a submitter started again on the same work attaches to
 * the same jobs. Redis holds the job data (the child's file and overrides, a few hundred bytes) and a pointer as the
 * return value; the run folders and results are files under the runs root shared by the workers and the submitter.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, cpSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { JobsOptions } from 'bullmq';
import type { ChildRun } from '../core/plugin.js';
import type { Manifest } from '../runs/manifest.js';
import { inputError, runError } from '../core/errors.js';

export const DEFAULT_QUEUE = 'fractal';
/** Under the shared runs root: one folder per child job (its run folder and result.json) until its parent adopts it. */
export const JOBS_DIR = '.jobs';
/** Events kept in the queue's event stream (BullMQ trims it to about this many). */
export const EVENTS_MAX_LEN = 2000;

/** The Redis URL from --redis or FRACTAL_REDIS_URL; a coded error when neither is given. */
export function redisUrl(option: string | undefined): string {
  const url = option ?? process.env.FRACTAL_REDIS_URL;
  if (!url) throw inputError('QUEUE_NO_REDIS', 'no Redis URL: pass --redis redis://host:port or set FRACTAL_REDIS_URL');
  if (!/^rediss?:\/\//.test(url)) throw inputError('CLI_BAD_OPTION', `--redis must be a redis:// or rediss:// URL, got '${url}'`);
  return url;
}

/**
 * A connection as BullMQ needs it: `maxRetriesPerRequest: null` (commands wait for Redis to come back instead of
 * failing: a restarted Redis is waited for), reconnecting every 0.2-2 s.
 */
export function connect(url: string, extra: RedisOptions = {}): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (n) => Math.min(200 * n, 2000), ...extra });
  r.on('error', () => {}); // reconnects on its own; callers see the effect (a stalled wait), not a crash
  return r;
}

/**
 * An 'error' listener for BullMQ's objects while Redis is away: one line at most every `everyMs` with how many like it
 * were held back (the connections retry every 2 s or less, each failure an event). Without a listener BullMQ prints
 * every error object whole on stderr, several times a second per connection.
 */
export function rateLimitedErrors(log: (m: string) => void, what: string, everyMs = 30_000): (err: Error) => void {
  // By message: another error is said at once, the same one again only after `everyMs`.
  const seen = new Map<string, { last: number; held: number }>();
  return (err) => {
    const now = Date.now();
    const s = seen.get(err.message) ?? { last: -Infinity, held: 0 };
    seen.set(err.message, s);
    if (now - s.last < everyMs) {
      s.held++;
      return;
    }
    log(`${what}: ${err.message}${s.held ? ` (and ${s.held} more since the last such line)` : ''}; retrying`);
    s.last = now;
    s.held = 0;
  };
}

/** Fails fast with a coded error when Redis does not answer within `ms`. Warns about a policy that may evict jobs. */
export async function checkRedis(url: string, ms = 5000, warn: (m: string) => void = () => {}): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, connectTimeout: ms, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await Promise.race([r.connect(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);
    await r.ping();
    const policy = (await r.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
    if (policy[1] && policy[1] !== 'noeviction') warn(`Redis maxmemory-policy is '${policy[1]}': BullMQ needs 'noeviction' (docs/distributed.md)`);
  } catch (err) {
    throw runError('QUEUE_UNREACHABLE', `Redis at ${url} did not answer: ${(err as Error).message}`);
  } finally {
    r.disconnect();
  }
}

/** A path as the submitter has it, and relative to its working folder (a worker elsewhere resolves that against its own). */
export interface PortablePath {
  abs: string;
  rel: string;
}
export const portable = (p: string): PortablePath => ({ abs: p, rel: relative(process.cwd(), p) });
/** The path on this machine: the same absolute path when it exists, else the relative one under the working folder. */
export const localPath = (p: PortablePath): string => (existsSync(p.abs) ? p.abs : resolve(p.rel));

/** The data of a child job: what the worker validates and runs. Paths under the runs root are relative to it. */
export interface ChildJobData {
  /** 'sleeve' (required by its meta: its job failing fails the parent) or 'cell' (recorded, the others go on). */
  role: 'sleeve' | 'cell';
  name: string;
  kind: 'selection' | 'meta';
  file: PortablePath;
  profile?: string;
  sets?: string[];
  dataRoots?: PortablePath[];
  expectHash: string;
  /** The data identity the submitter found; the worker refuses the job when its lakehouse gives another. */
  dataHash: string | null;
  engine: string;
  noCache?: boolean;
  folderName?: string;
  /** Where the parent will adopt the run folder (relative to the runs root), when known; and the parents' prefixes. */
  adoptRel?: string;
  finalPrefixes: { from: string; to: string }[];
  /** A nested meta: its sleeves are this job's children in the flow. */
  nested?: boolean;
  /** W3C trace context of the submitting span (a carrier), for a worker-side span per job (docs/distributed.md). */
  trace?: Record<string, string>;
  /** The submitter's work tree (its commit and changes, null outside git): the child run's manifest records it. */
  git?: Manifest['git'];
  /** The submitter's runs root identity (runsRootId): a worker whose --out holds another refuses the job. */
  root?: string;
}

/** The parent ("gather") job of one batch: what `queue status` shows. */
export interface GatherJobData {
  role: 'sleeves' | 'cells';
  /** The submitting run's pipeline name and folder (relative to the runs root). */
  run: string;
  folder: string;
  children: number;
  submitted_at: string;
  /** When a submitter started again (its first one killed) took the batch over: `folder` is then the new run's. */
  attached_at?: string;
  /** The runs root's identity the batch's jobs carry (runsRootId). */
  root?: string;
}

/** A child job's return value: small, a pointer to its files under the runs root. */
export interface ChildPointer {
  name: string;
  outcome: 'succeeded' | 'failed';
  run_id: string;
  /** The child's run folder and its result.json, relative to the runs root. */
  folder: string;
  result: string;
  error?: { code: string; message: string; stage: string | null };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** A parent's job id: its role and its children's ids. BullMQ ids must not contain ':'. */
export const parentJobId = (role: string, childIds: string[]) => `p${sha(`${role}\n${[...childIds].sort().join('\n')}`).slice(0, 40)}`;
/** A child without a content identity (a live scanner): unique to this submission. */
export const oneOffJobId = (expectHash: string) => `x${sha(`${expectHash}\n${randomUUID()}`).slice(0, 40)}`;
/**
 * A child's job id: its content identity (the result cache's key) and its place in a batch (a sleeve or a cell, and
 * its name there). The same batch submitted again attaches to its jobs; another batch that computes the same thing (a
 * meta's sleeve that is also a tournament's cell) has jobs of its own, so it never waits on, or adopts, a job whose
 * run belongs to a batch that may never be collected.
 */
export const childJobId = (key: string, role: 'sleeve' | 'cell', name: string) => `c${sha(`${key}\n${role}\n${name}`).slice(0, 40)}`;
/** The n-th repeat of a content key within one flow: its own job, with an id stable across submissions. */
export const derivedJobId = (key: string, n: number) => `d${sha(`${key}#${n}`).slice(0, 40)}`;

/**
 * Retries and retention of a child job: transient failures (a crash, a lost connection) retry 3 times with
 * exponential backoff (2 s, 4 s); coded input failures throw UnrecoverableError and fail once. Completed children
 * leave Redis within an hour (their pointer stays in the parent until it is collected), failed ones within a week
 * (at most 5,000 kept).
 */
export function childJobOptions(role: 'sleeve' | 'cell', jobId: string): JobsOptions {
  return {
    jobId,
    attempts: 3,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
    ...(role === 'sleeve' ? { failParentOnFailure: true } : { ignoreDependencyOnFailure: true }),
  };
}
export const gatherJobOptions = (jobId: string): JobsOptions => ({ jobId, removeOnComplete: { age: 24 * 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } });

/**
 * The runs root's identity: a random id in <root>/.jobs/ROOT, made by the first submitter that needs it (`create`)
 * and never changed. A job carries its submitter's; a worker whose --out holds another, or none, writes elsewhere
 * than the submitter reads, and refuses the job before writing anything (QUEUE_OUT_MISMATCH).
 */
export function runsRootId(runsRoot: string, create: boolean): string | undefined {
  const file = join(runsRoot, JOBS_DIR, 'ROOT');
  const read = () => {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const found = read();
  if (found || !create) return found;
  mkdirSync(dirname(file), { recursive: true });
  // Whole or not at all, and the first of two submitters wins: written aside, then linked (link fails if it exists).
  const tmp = `${file}.${process.pid}.${randomUUID()}`;
  writeFileSync(tmp, `${randomUUID()}\n`);
  try {
    linkSync(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      /* another submitter's came first */
    } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // A file system without hard links (SMB, some FUSE mounts): created exclusively instead (a reader that comes
      // between the create and the write finds it empty, and a worker retries such a job).
      try {
        writeFileSync(file, readFileSync(tmp), { flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    } else throw err;
  } finally {
    unlinkSync(tmp);
  }
  return read();
}

/** The folder of a child job's files under the runs root. */
export const jobDir = (runsRoot: string, jobId: string) => join(runsRoot, JOBS_DIR, jobId);

/** A ChildRun as JSON (typed arrays as lists, non-finite returns as null), and back. */
export function childRunJson(run: ChildRun, runsRoot: string): string {
  const rel = (p: string) => (p && isAbsolute(p) ? relative(runsRoot, p) : p);
  const result = run.result ? { ...run.result, run: rel(run.result.run), dates: Array.from(run.result.dates), returns: Array.from(run.result.returns, (x) => (Number.isFinite(x) ? x : null)) } : undefined;
  return JSON.stringify({ ...run, folder: rel(run.folder), ...(result ? { result } : {}) });
}
function childRunOfJson(text: string): ChildRun {
  const j = JSON.parse(text);
  if (j.result) j.result = { ...j.result, dates: Int32Array.from(j.result.dates), returns: Float64Array.from(j.result.returns, (x: number | null) => (x === null ? NaN : x)) };
  return j as ChildRun;
}

/**
 * Takes a finished child's run into its parent: copies its run folder from the job's folder to `into/<name>/<run id>`
 * (the layout of a local run: cells/<cell id>/..., sleeves/<pipeline>/...) and returns its ChildRun pointing there.
 * A copy, not a move: a parent job that is run again (its worker died) adopts again. The job folders are removed by
 * the top-level submitter once its run has them all.
 */
export function adopt(resultRel: string, runsRoot: string, into: string): ChildRun {
  const resultFile = join(runsRoot, resultRel);
  if (!existsSync(resultFile))
    throw runError('QUEUE_RESULT_MISSING', `the child's result ${resultFile} is not there: the worker wrote it under its own --out, which is not this run's runs root ${runsRoot}`);
  const run = childRunOfJson(readFileSync(resultFile, 'utf8'));
  if (!run.folder) return run;
  const src = join(runsRoot, run.folder);
  const dest = join(into, basename(dirname(src)), basename(src));
  if (!existsSync(dest)) {
    const tmp = `${dest}.adopting-${process.pid}`;
    mkdirSync(dirname(dest), { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    cpSync(src, tmp, { recursive: true });
    renameSync(tmp, dest);
  }
  run.folder = dest;
  if (run.result) run.result = { ...run.result, run: dest };
  return run;
}

/** "[CODE] message" (how a worker words a coded failure) as code and message. */
export function parseReason(reason: string | undefined): { code: string; message: string } {
  const m = /^\[([A-Z][A-Z0-9_]+)\] ([\s\S]*)$/.exec(reason ?? '');
  return m ? { code: m[1], message: m[2] } : { code: 'QUEUE_JOB_FAILED', message: reason || 'the job failed without a reason' };
}
