/**
 * `pipeline-run worker`: a long-lived BullMQ worker. It takes child jobs (a meta's sleeve, a tournament's cell),
 * validates the child's file with exactly the submitter's inputs (refusing another config hash, another data
 * identity in its own lakehouse, another engine version: failed once, UnrecoverableError), runs it in process into
 * <out>/.jobs/<job id>/ under its own --out (the runs root it shares with the submitter), writes the ChildRun there
 * (result.json) and returns a pointer. A nested meta's sleeves are its job's children: when they are done, the meta
 * runs here and adopts their runs as a local run would have run them. "gather" jobs (a batch's parent) return at
 * once. SIGTERM/SIGINT drain: no new job is taken, the running ones finish, or after the drain timeout go back
 * to the queue for another worker.
 */
import 'reflect-metadata';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { builtinRegistry } from '../../stages/index.js';
import { validateFile, type ValidationResult } from '../config/validate.js';
import { FractalError, runError } from '../core/errors.js';
import type { ChildRun } from '../core/plugin.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import type { SleeveExecutor } from '../pipeline/executor.js';
import { PipelineFactory } from '../pipeline/factory.js';
import { executePipeline, specOf } from '../pipeline/runner.js';
import { flushTracing, startTracing, tracingRequested, withSpan, withTraceContext } from '../util/tracing.js';
import { childRunOf } from '../pipeline/sleeve-result.js';
import { fractalVersion } from '../runs/manifest.js';
import { dataIdentityOf } from '../runs/result-cache.js';
import { withLakehousePins } from '../lakehouse/pins.js';
import { adopt, childRunJson, connect, EVENTS_MAX_LEN, JOBS_DIR, rateLimitedErrors, jobDir, localPath, runsRootId, type ChildJobData, type ChildPointer, type GatherJobData } from './queue-common.js';

export interface WorkerOptions {
  url: string;
  queue: string;
  concurrency: number;
  lakehousePath: string;
  outRoot: string;
  /** How long a job's lock lives without renewal: a dead worker's job is taken by another after about this long. */
  lockMs: number;
  /** SIGTERM: how long running jobs may take to finish before they are put back in the queue. */
  drainMs: number;
  log: (m: string) => void;
  /** Drains the worker as SIGTERM does when aborted (a program that runs a worker among other work). */
  signal?: AbortSignal;
  /** Whether SIGTERM and SIGINT drain it (default true); false leaves the process's signals to the program. */
  handleSignals?: boolean;
}

const registry = builtinRegistry();

/** A coded failure that retrying cannot fix: the job fails once, with "[CODE] message" as its reason. */
const unrecoverable = (e: FractalError) => new UnrecoverableError(`[${e.code}] ${e.message}`);

/**
 * A span per job (`job <role> <name>`), continuing the submitter's trace from `data.trace`, when this worker traces:
 * its environment names an exporter (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT: docs/observability.md). The
 * run under it (its stages, its windows) are the span's children; they are exported when the job ends.
 */
async function withJobSpan<T>(job: Job, fn: () => Promise<T>): Promise<T> {
  const d = job.data as Partial<ChildJobData>;
  if (!d.trace?.traceparent || !tracingRequested()) return fn();
  await startTracing({ version: fractalVersion() });
  try {
    return await withTraceContext(d.trace, () =>
      withSpan(`job ${d.role ?? job.name} ${d.name ?? ''}`.trim(), { 'fractal.job.id': String(job.id ?? ''), 'fractal.job.attempt': job.attemptsMade + 1, ...(d.role === 'cell' ? { 'fractal.cell': d.name ?? '' } : { 'fractal.sleeve': d.name ?? '' }), 'fractal.config_hash': d.expectHash ?? '' }, fn),
    );
  } finally {
    await flushTracing();
  }
}

/** One child job: validate with the submitter's inputs, check the data, run, write the result, return a pointer. */
async function runChild(job: Job<ChildJobData>, o: WorkerOptions): Promise<ChildPointer> {
  const d = job.data;
  const out = resolve(o.outRoot);
  const what = `${d.role} ${d.name}`;
  if (d.engine !== fractalVersion()) throw unrecoverable(runError('QUEUE_ENGINE_MISMATCH', `${what} was submitted by Fractal ${d.engine}; this worker runs ${fractalVersion()}`));
  // Checked before anything is written: a worker on another folder would leave its job folders where no submitter
  // collects or removes them.
  if (d.root) {
    const here = runsRootId(out, false);
    const mismatch = runError('QUEUE_OUT_MISMATCH', `${what}: this worker's --out ${out} is not the submitter's runs root (${here ? 'it holds another runs root\'s identity' : `it has no ${JOBS_DIR}/ROOT`}): the worker would write where the submitter cannot read`);
    // Another identity is final. None yet may be a shared file system's cache that has not seen the file the
    // submitter just made: retried (with the job's backoff) before the job fails.
    if (here && here !== d.root) throw unrecoverable(mismatch);
    if (!here) throw mismatch;
  }
  const file = localPath(d.file);
  const v = await validateFile(file, { registry, profile: d.profile, sets: d.sets, dataRoots: d.dataRoots?.map(localPath) });
  if (!v.ok || !v.resolved) throw unrecoverable(runError('QUEUE_CONFIG_MISMATCH', `${what}: ${file} does not validate on this worker: ${v.diagnostics.filter((x) => x.severity === 'error').map((x) => `${x.code} ${x.message}`).join('; ')}`));
  if (v.hash !== d.expectHash) throw unrecoverable(runError('QUEUE_CONFIG_MISMATCH', `${what}: ${file} resolves to config ${v.hash?.slice(0, 12)} on this worker, the submitter's is ${d.expectHash.slice(0, 12)}`));
  // The check and the run read one version of the lakehouse (pins.ts): an import committing between them would
  // otherwise give the run other data than the one checked, and the child a data hash its parent did not submit.
  const resolved = v.resolved;
  return withLakehousePins(() => checkAndRun(job, o, v, resolved, out, what));
}

/** The child's data checked against the submitter's, then its run: in one scope of pinned lakehouse versions. */
async function checkAndRun(job: Job<ChildJobData>, o: WorkerOptions, v: ValidationResult, resolved: ResolvedConfig, out: string, what: string): Promise<ChildPointer> {
  const d = job.data;
  if (d.dataHash) {
    const built = new PipelineFactory(v.registry).build(resolved);
    const here = await dataIdentityOf(specOf(v)!, { plugins: built.resolver, lakehousePath: o.lakehousePath });
    if (here !== d.dataHash) throw unrecoverable(runError('QUEUE_DATA_MISMATCH', `${what}: the lakehouse ${o.lakehousePath} gives data ${here?.slice(0, 12) ?? 'that cannot be identified'}, the submitter's gave ${d.dataHash.slice(0, 12)}`));
  }
  // A job run again (its worker died) starts from an empty folder.
  const area = jobDir(out, job.id!);
  rmSync(area, { recursive: true, force: true });
  mkdirSync(area, { recursive: true });
  const finalPrefixes = [...d.finalPrefixes.map((p) => ({ from: join(out, p.from), to: join(out, p.to) })), ...(d.adoptRel ? [{ from: area, to: join(out, d.adoptRel) }] : [])];
  const r = await executePipeline(v, {
    outRoot: area,
    cacheRoot: out,
    lakehousePath: o.lakehousePath,
    noCache: d.noCache,
    finalPrefixes,
    folderName: d.folderName,
    handleSignals: false,
    ...(d.git !== undefined ? { git: d.git } : {}),
    ...(d.nested ? { sleeveExecutor: childrenOf(job, out) } : {}),
  });
  const run = childRunOf(d.name, d.kind, r.summary, r.context);
  const resultFile = join(area, 'result.json');
  writeFileSync(resultFile, childRunJson(run, out));
  const pointer: ChildPointer = { name: d.name, outcome: run.outcome, run_id: run.run_id, folder: relative(out, run.folder), result: relative(out, resultFile), ...(run.error ? { error: run.error } : {}) };
  // A cell whose run failed is a failed job (once: its run says why, and running it again gives the same); the
  // parent records it and the others go on. A sleeve's failed run is a result its meta vetoes, as in a local run.
  if (run.outcome === 'failed' && d.role === 'cell') throw new UnrecoverableError(`[${run.error?.code ?? 'STAGE_FAILED'}] ${run.error?.message ?? 'the run failed'}`);
  return pointer;
}

/** A nested meta's sleeves, already run as its job's children: adopted into its run folder (undefined: not a child). */
function childrenOf(job: Job<ChildJobData>, runsRoot: string): SleeveExecutor {
  return {
    run: async (tasks) => {
      const values = (await job.getChildrenValues<ChildPointer>()) as Record<string, ChildPointer>;
      const byName = new Map(Object.values(values).map((p) => [p.name, p] as const));
      return tasks.map((t): ChildRun | undefined => {
        const p = byName.get(t.name);
        return p ? adopt(p.result, runsRoot, t.outRoot) : undefined;
      });
    },
  };
}

/** Starts the worker; resolves when it has stopped (after a signal), with the exit code. */
export async function runWorker(o: WorkerOptions): Promise<number> {
  if (!existsSync(join(o.lakehousePath, 'registry.json'))) o.log(`note: no lakehouse at ${o.lakehousePath}; jobs that read one will fail with LAKEHOUSE_MISSING`);
  mkdirSync(o.outRoot, { recursive: true });
  const connection = connect(o.url);
  // The queue's event stream is trimmed to about EVENTS_MAX_LEN entries (BullMQ reads the limit from the queue's meta).
  const queue = new Queue(o.queue, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  const workerConnection = connect(o.url);
  const active = new Map<string, { job: Job; token?: string }>();
  const worker = new Worker(
    o.queue,
    async (job: Job, token?: string) => {
      active.set(job.id!, { job, token });
      try {
        if (job.name === 'gather') return { children: (job.data as GatherJobData).children };
        return await withJobSpan(job, () => runChild(job as Job<ChildJobData>, o));
      } catch (err) {
        if (err instanceof UnrecoverableError) throw err;
        // A coded input error found by the run's own checks (a file that vanished) will not heal by retrying.
        if (err instanceof FractalError && err.exitCode === 2) throw unrecoverable(err);
        throw err instanceof FractalError ? new Error(`[${err.code}] ${err.message}`) : err;
      } finally {
        active.delete(job.id!);
      }
    },
    { connection: workerConnection, concurrency: o.concurrency, lockDuration: o.lockMs, stalledInterval: Math.max(1000, Math.round(o.lockMs / 2)), maxStalledCount: 2 },
  );
  const trouble = rateLimitedErrors(o.log, 'redis');
  worker.on('error', trouble);
  queue.on('error', trouble);
  worker.on('active', (job) => o.log(`${job.name === 'gather' ? 'gather' : `${(job.data as ChildJobData).role} ${(job.data as ChildJobData).name}`} ${job.id} started`));
  worker.on('completed', (job) => o.log(`${job.id} done`));
  worker.on('failed', (job, err) => o.log(`${job?.id} failed: ${err.message}`));
  o.log(`worker ${hostname()}:${process.pid} on queue '${o.queue}' (concurrency ${o.concurrency}), lakehouse ${o.lakehousePath}, runs root ${resolve(o.outRoot)}`);

  return new Promise<number>((done) => {
    let stopping = false;
    const onTerm = () => void stop('SIGTERM');
    const onInt = () => void stop('SIGINT');
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      o.log(`${signal}: draining (${active.size} running; at most ${Math.round(o.drainMs / 1000)} s)`);
      const closed = worker.close().then(() => true);
      const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), o.drainMs).unref());
      if (!(await Promise.race([closed, timedOut]))) {
        // Put the running jobs back for another worker rather than leave them to the stalled check.
        for (const { job, token } of active.values()) {
          await job.moveToWait(token).catch(() => {});
          o.log(`${job.id} put back in the queue`);
        }
        // Leave now: the runs still going here must not write on while another worker starts the same jobs afresh.
        o.log('worker stopped (drain timeout)');
        process.exit(0);
      }
      await queue.close().catch(() => {});
      connection.disconnect();
      workerConnection.disconnect();
      o.log('worker stopped');
      done(0);
    };
    if (o.handleSignals !== false) {
      process.once('SIGTERM', onTerm);
      process.once('SIGINT', onInt);
    }
    if (o.signal?.aborted) void stop('stop requested');
    else o.signal?.addEventListener('abort', () => void stop('stop requested'), { once: true });
  });
}
