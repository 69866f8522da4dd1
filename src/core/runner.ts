/**
 * The runner: executes a built pipeline's stages in order, timing each, into a run folder that is renamed into
 * place only when the run completes. A stage that throws leaves `<run_id>.failed/` with the audit up to the
 * failure, the error, and a manifest saying so.
 */
import { join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { ValidationResult } from '../config/validate.js';
import { ArtifactWriter } from '../runs/artifacts.js';
import { AuditLedger } from '../runs/audit.js';
import { fractalVersion, gitState, type Manifest } from '../runs/manifest.js';
import { newRunId, RunFolder } from '../runs/run-folder.js';
import { newMetaContext, newSelectionContext } from './context.js';
import { FractalError } from './errors.js';
import { PipelineFactory } from './factory.js';
import type { ChildRun, ReplayOutcome, StageEnv } from './plugin.js';
import { childRunOf } from './sleeve-result.js';
import { runSleevesInPool, sleevePoolAvailable } from '../exec/sleeve-pool.js';
import { quietEnv, replayOutcome, replayPrefix } from './replay.js';
import { poolAvailable, replayInPool } from '../exec/replay-pool.js';
import { combinedDataIdentity } from '../lakehouse/registry.js';

export interface RunOptions {
  outRoot: string;
  lakehousePath: string;
  log?: (message: string) => void;
  progress?: (label: string, done: number, total: number) => void;
  /** For tests: a fixed clock. */
  now?: () => Date;
  /** --no-cache: recompute sleeves even when an unchanged result is cached. */
  noCache?: boolean;
  /** Where the sleeve cache lives: the top-level runs root (child runs inherit it). */
  cacheRoot?: string;
  /** Temporary folders of the runs above this one and the final folders they become (child runs). */
  finalPrefixes?: { from: string; to: string }[];
}

/** A path inside temporary run folders, as it will be once every enclosing run has completed. */
export function finalPath(path: string, prefixes: { from: string; to: string }[] = []): string {
  let p = path;
  for (const { from, to } of [...prefixes].reverse()) if (p === from || p.startsWith(`${from}/`)) p = to + p.slice(from.length);
  return p;
}

export interface RunSummary {
  run_id: string;
  name: string;
  outcome: 'succeeded' | 'failed';
  folder: string;
  config_hash: string;
  data_hash: string | null;
  /** How many registry entries the data hash covers. */
  data_inputs: number;
  duration_ms: number;
  stages: Manifest['stages'];
  artifacts: string[];
  error?: Manifest['error'];
}

export async function runPipeline(v: ValidationResult, opts: RunOptions): Promise<RunSummary> {
  return (await executePipeline(v, opts)).summary;
}

/** Runs a validated pipeline; returns the summary and the final context (meta pipelines read their sleeves'). */
export async function executePipeline(v: ValidationResult, opts: RunOptions): Promise<{ summary: RunSummary; context: unknown }> {
  if (!v.resolved || !v.hash) throw new FractalError('CONFIG_INVALID', `${v.file} is not valid; run \`pipeline-run validate ${v.file}\``, { exitCode: 2 });
  const config = v.resolved;
  const built = new PipelineFactory(v.registry).build(config);
  const now = opts.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const runId = newRunId(started);
  const folder = new RunFolder(resolve(opts.outRoot), config.name, runId);
  const audit = new AuditLedger(`${folder.dir}/audit.jsonl`, runId, now);
  const artifacts = new ArtifactWriter(folder.dir);
  // The identities of the data the run read, with the registry entries each covers (normally one source).
  const dataSources = new Map<string, number>();
  const stageRecords: Manifest['stages'] = config.stages.map((s) => ({ type: s.type, ms: null, outcome: 'skipped' }));
  const log = opts.log ?? (() => {});
  const cache = new Map<string, unknown>();
  const releases: (() => Promise<void> | void)[] = [];
  let currentIndex = 0;
  const env: StageEnv = {
    runId,
    runDir: folder.dir,
    baseDir: v.baseDir,
    lakehousePath: opts.lakehousePath,
    audit,
    artifacts,
    plugins: built.resolver,
    log,
    progress: opts.progress ?? (() => {}),
    recordData: (s) => void dataSources.set(s.data_hash, s.entries),
    dataHash: () => combinedDataIdentity(dataSources.keys()),
    pipeline: { name: config.name, hash: v.hash, config, stages: stageRecords.map((s) => ({ type: s.type })) },
    cache: {
      get: <T>(key: string) => cache.get(key) as T | undefined,
      set: <T>(key: string, value: T, release?: () => Promise<void> | void) => {
        cache.set(key, value);
        if (release) releases.push(release);
        return value;
      },
    },
    replay: async (asOf, replayOpts = {}) => replayPrefix(built.stages, currentIndex, quietEnv(env), runId, asOf, replayOpts),
    runsRoot: opts.cacheRoot ?? resolve(opts.outRoot),
    useCache: !opts.noCache,
    finalRunDir: finalPath(join(folder.parent, runId), opts.finalPrefixes),
    sleeveConfig: (name) => (v.sleeves?.[name]?.resolved ? { config: v.sleeves[name].resolved, baseDir: v.sleeves[name].baseDir } : undefined),
    runSleeves: async (names, o) => {
      const childOpts = {
        ...opts,
        cacheRoot: opts.cacheRoot ?? resolve(opts.outRoot),
        outRoot: join(folder.dir, 'sleeves'),
        finalPrefixes: [...(opts.finalPrefixes ?? []), { from: folder.dir, to: join(folder.parent, runId) }],
      };
      for (const n of names) if (!v.sleeves?.[n]) throw new FractalError('SLEEVE_UNKNOWN', `no sleeve named '${n}' in ${v.file}`);
      const sleeves = (config.sleeves ?? []).filter((s) => names.includes(s.name));
      // A nested meta inside a worker runs its sleeves in that worker, one after the other (no pools in pools).
      if (o.threads > 1 && names.length > 1 && isMainThread && sleevePoolAvailable()) {
        return runSleevesInPool(
          // The worker validates the sleeve with exactly the inputs the meta's validation used (same profile, same
          // overrides) and refuses to run if the resolved config differs (its hash is checked).
          sleeves.map((s) => ({ name: s.name, kind: s.kind, file: resolve(v.baseDir, s.file), profile: v.sleeves![s.name].composed?.profile?.name, sets: s.set, expectHash: s.config_hash, outRoot: childOpts.outRoot, cacheRoot: childOpts.cacheRoot, lakehousePath: opts.lakehousePath, noCache: opts.noCache, finalPrefixes: childOpts.finalPrefixes })),
          o.threads,
          (done) => o.onDone?.(done),
        );
      }
      const out: ChildRun[] = [];
      for (const s of sleeves) {
        const r = await executePipeline(v.sleeves![s.name], { ...childOpts, log: (m) => log(`  [${s.name}] ${m}`) });
        out.push(childRunOf(s.name, s.kind, r.summary, r.context));
        o.onDone?.(out.length);
      }
      return out;
    },
    replayMany: async (dates, o) => {
      const threads = o.threads ?? 1;
      if (threads > 1 && dates.length > 1 && poolAvailable()) {
        const r = await replayInPool(
          { config, hash: v.hash!, runId, pipelineFile: resolve(v.file), baseDir: v.baseDir, lakehousePath: opts.lakehousePath, upto: currentIndex, options: { lookbackDays: o.lookbackDays, challengers: o.challengers } },
          dates,
          Math.min(threads, dates.length),
          (done) => o.onProgress?.(done),
        );
        r.sources.forEach(env.recordData);
        return r.outcomes;
      }
      const out: ReplayOutcome[] = [];
      for (const d of dates) {
        out.push(await replayOutcome(built.stages, currentIndex, quietEnv(env), runId, d, { lookbackDays: o.lookbackDays, challengers: o.challengers }));
        o.onProgress?.(out.length);
      }
      return out;
    },
  };
  const manifest = (outcome: Manifest['outcome'], error?: Manifest['error']): Manifest => {
    const finished = now();
    return {
      fractal_version: fractalVersion(),
      node_version: process.version,
      run_id: runId,
      name: config.name,
      pipeline_file: v.file,
      config_hash: v.hash!,
      config,
      profile: v.composed?.profile ?? null,
      data_hash: combinedDataIdentity(dataSources.keys()),
      data_inputs: [...dataSources.values()].reduce((a, n) => a + n, 0),
      git: gitState(v.baseDir),
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      duration_ms: Math.round(performance.now() - t0),
      stages: stageRecords,
      artifacts: [...artifacts.written, 'audit.jsonl', 'manifest.json'],
      outcome,
      ...(error ? { error } : {}),
    };
  };

  audit.event(null, 'run_started', { name: config.name, config_hash: v.hash, pipeline_file: v.file, stages: config.stages.map((s) => s.type) });
  let ctx: any = config.pipeline === 'meta' ? newMetaContext(runId, config.sleeves ?? []) : newSelectionContext(runId, {});
  let current: string | null = null;
  // Ctrl-C or a kill: the folder is marked failed (interrupted) before the process exits, never left looking
  // complete. (A stage busy in synchronous code is interrupted when it next yields.)
  const onSignal = (signal: NodeJS.Signals) => {
    audit.event(current, 'run_interrupted', { signal });
    const idx = stageRecords.findIndex((r) => r.outcome === 'skipped');
    if (idx >= 0 && current) stageRecords[idx] = { type: current, ms: null, outcome: 'failed' };
    const path = folder.fail(manifest('failed', { code: 'INTERRUPTED', message: `interrupted by ${signal}`, stage: current }), `interrupted by ${signal} during stage '${current}'`);
    process.stderr.write(`\ninterrupted by ${signal}; the partial run is marked failed in ${path}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let i = 0; i < built.stages.length; i++) {
      const s = built.stages[i];
      current = s.type;
      currentIndex = i;
      log(`stage ${i + 1}/${built.stages.length}: ${s.type}`);
      audit.event(s.type, 'stage_started', { index: i, params: s.params });
      const ts = performance.now();
      ctx = (await s.stage.execute(ctx, s.params, env)) ?? ctx;
      const ms = performance.now() - ts;
      stageRecords[i] = { type: s.type, ms: Math.round(ms * 10) / 10, outcome: 'succeeded' };
      env.pipeline.stages[i].ms = ms;
      audit.event(s.type, 'stage_finished', { index: i, ms: stageRecords[i].ms });
    }
  } catch (err) {
    const idx = config.stages.findIndex((s, i) => s.type === current && stageRecords[i].outcome === 'skipped');
    if (idx >= 0) stageRecords[idx] = { type: current!, ms: null, outcome: 'failed' };
    const e = err instanceof FractalError ? err : undefined;
    const error = { code: e?.code ?? 'STAGE_FAILED', message: (err as Error)?.message ?? String(err), stage: current };
    audit.event(current, 'stage_failed', { error: error.message, code: error.code, ...(err instanceof Error && !e ? { stack: err.stack } : {}) });
    audit.event(null, 'run_failed', { stage: current });
    const m = manifest('failed', error);
    const path = folder.fail(m, `stage '${current}' failed: [${error.code}] ${error.message}${err instanceof Error && err.stack ? `\n\n${err.stack}` : ''}`);
    return { summary: summary(m, path), context: ctx };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const release of releases.reverse()) await release();
  }
  audit.event(null, 'run_finished', { stages: stageRecords.length });
  const m = manifest('succeeded');
  const path = folder.complete(m);
  return { summary: summary(m, path), context: ctx };
}

function summary(m: Manifest, folder: string): RunSummary {
  return {
    run_id: m.run_id,
    name: m.name,
    outcome: m.outcome,
    folder,
    config_hash: m.config_hash,
    data_hash: m.data_hash,
    data_inputs: m.data_inputs,
    duration_ms: m.duration_ms,
    stages: m.stages,
    artifacts: m.artifacts,
    ...(m.error ? { error: m.error } : {}),
  };
}
