/**
 * The runner: checks what it can before anything is written (preflight: the config against the lakehouse's symbols
 * table), then executes a built pipeline's stages in order, timing each, into a run folder that is renamed into
 * place only when the run completes. A stage that throws leaves `<run_id>.failed/` with the audit up to the
 * failure, the error (coded, with the exit code it gives and, when a param caused it, the param's file:line:col),
 * and a manifest saying so. A full disk still leaves the folder marked failed, never a torn or unmarked one.
 */
import { dirname, join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { ValidationResult } from '../config/validate.js';
import { ArtifactWriter } from '../runs/artifacts.js';
import { AuditLedger } from '../runs/audit.js';
import { fractalVersion, gitState, gitStateAsync, pluginModuleHashes, type Manifest } from '../runs/manifest.js';
import { newRunId, RunFolder } from '../runs/run-folder.js';
import { cashReasonCounts, cashReasonsText } from '../runs/record-flags.js';
import { newMetaContext, newSelectionContext, newTournamentContext, type AnyContext } from '../core/context.js';
import { asFractalError, FractalError, inputError, runError, type ErrorLocation } from '../core/errors.js';
import { PipelineFactory, type BuiltPipeline } from './factory.js';
import type { ChildRun, PreflightEnv, ReplayManyOptions, ReplayOutcome, ReplaySchedule, RunServices, RunSpec, StageEnv } from '../core/plugin.js';
import type { CellExecutor, CellJob, DecideHere, Executors, ReplaySetup, ReplayWorkers, SleeveExecutor, SleeveTask } from './executor.js';
import { canonicalJson } from '../util/hash.js';
import { isoFromDay } from '../util/dates.js';
import { locateIn } from '../config/origins.js';
import { displayPath } from '../config/source.js';
import { isInside } from '../config/roots.js';
import { markChildRunsInterrupted, markInterrupted } from '../runs/run-folder.js';
import { exitStatusOf, STOP_SIGNALS } from '../util/signals.js';
import { childRunOf } from './sleeve-result.js';
import { cashReason, quietEnv, replayOutcome, replayPrefix, type ReplayOptions } from './replay.js';
import { pluginFailure } from './plugin-failure.js';
import { combinedDataIdentity } from '../lakehouse/registry.js';
import { CheckpointWriter, contextFields as contextFieldsOf } from '../runs/checkpoints.js';
import { injectTraceContext, withSpan, withTimedSpan, type Attributes, type Span } from '../util/tracing.js';
import { checkpointOf, prefixHashes, restoreReused, type ReusePlan } from './reuse.js';
import { messageOf } from '../util/thrown.js';
import { lakehousePins, withLakehousePins, type PinnedRegistry } from '../lakehouse/pins.js';

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
  /** The caller already ran preflightPipeline (the CLI, to print every problem): not again; what it found. */
  preflighted?: PreflightFindings;
  /** The run folder's name under outRoot (a tournament cell's id); the pipeline's name when omitted. */
  folderName?: string;
  /** Where a tournament's cells run: this executor when given, else `executors.cells` (the local worker pool). */
  cellExecutor?: CellExecutor;
  /** Worker threads for replays, sleeves and cells (src/exec's workerExecutors); without them all runs in process. */
  executors?: Executors;
  /** Write a checkpoint after each stage (src/runs/checkpoints.ts) so a later run can start from any stage; default: top-level runs do. */
  checkpoints?: boolean;
  /** Take the stages before `reuse.from` from another run (planReuse in reuse.ts checked that nothing deciding them changed). */
  reuse?: ReusePlan;
  /** Where a meta's sleeves run: this executor when given (a queue), else `executors.sleeves` (the local worker pool). */
  sleeveExecutor?: SleeveExecutor;
  /** false: SIGINT/SIGTERM/SIGHUP are left to the caller (a queue worker drains instead of marking its child run failed). */
  handleSignals?: boolean;
  /**
   * Called when a signal stops the run, once its folder is marked failed (RUN_INTERRUPTED) and before the process
   * ends by that signal: the caller's last word (the CLI prints the error, or the --json summary).
   */
  onInterrupted?: (summary: RunSummary) => void;
  /**
   * The work tree's state as the run that started this one saw it (a sleeve's meta, a cell's tournament; null outside
   * git): recorded in the manifest as it is, instead of asking git again. One `git status` per command, not one per
   * child run: a fork of the whole process each, which at 400 tiny cells was half the tournament's time.
   */
  git?: Manifest['git'];
}

/** Where a tournament's preflight may look for cells that already ran (the result cache); none with --no-cache. */
export interface PreflightCache {
  cacheRoot?: string;
}

/** A validated pipeline as its cache key needs it (its sleeves' too). */
export function specOf(v: ValidationResult): RunSpec | undefined {
  if (!v.resolved || !v.hash) return undefined;
  const sleeves = v.sleeves ? Object.fromEntries(Object.entries(v.sleeves).flatMap(([n, s]) => { const x = specOf(s); return x ? [[n, x]] : []; })) : undefined;
  return { config: v.resolved, hash: v.hash, baseDir: v.baseDir, ...(sleeves ? { sleeves } : {}) };
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
  /** Files of the failed run folder that could not be written (a full disk); the folder is marked failed anyway. */
  unwritten?: string[];
}

/** An error caused by a param, located: the file:line:col that set the param (a base file, a profile, --set). */
export function locateError(v: ValidationResult, err: FractalError, stageIndex?: number): FractalError {
  if (err.location || !err.param || !v.composed) return err;
  const index = err.stage?.index ?? stageIndex;
  if (index === undefined) return err;
  return err.withDefaults({ location: locateIn(v.composed.origins, ['stages', index, 'params', ...err.param], err.options.paramKey ? 'key' : 'value') as ErrorLocation });
}

/** What a pipeline's preflight learned that its run uses. */
export interface PreflightFindings {
  /** The threads its replays will take (Stage.threadsAhead). */
  replayThreads?: number;
  /**
   * The lakehouse registries the preflight read (src/lakehouse/pins.ts): the run reads the versions its checks were
   * made on, and does not read and check registry.json a second time (~0.1 s at 2000 symbols).
   */
  pins?: PinnedRegistry[];
}

/**
 * Checks that need only the config and the lakehouse's symbols table (unknown symbols, an as-of outside the data,
 * caps that cannot hold the budget, a train window longer than the data), made before any folder exists; for a meta
 * pipeline, every sleeve's too. Returns every problem found, located; what the run can use goes into `found`.
 */
export async function preflightPipeline(v: ValidationResult, opts: Pick<RunOptions, 'lakehousePath'> & PreflightCache, built: BuiltPipeline = new PipelineFactory(v.registry).build(v.resolved!), found: PreflightFindings = {}): Promise<FractalError[]> {
  // In a scope of its own unless inside a run's (a run that preflights itself, a child's preflight): the pins go to
  // the run through `found`.
  return withLakehousePins(async () => {
    const out = await preflightChecks(v, opts, built, found);
    found.pins = lakehousePins();
    return out;
  });
}

async function preflightChecks(v: ValidationResult, opts: Pick<RunOptions, 'lakehousePath'> & PreflightCache, built: BuiltPipeline, found: PreflightFindings): Promise<FractalError[]> {
  const env: PreflightEnv = { baseDir: v.baseDir, lakehousePath: opts.lakehousePath, plugins: built.resolver };
  const out: FractalError[] = [];
  for (let i = 0; i < built.stages.length; i++) {
    const s = built.stages[i];
    if (s.stage.preflight) {
      try {
        for (const e of await s.stage.preflight(s.params, env)) out.push(locateError(v, e, i));
      } catch (err) {
        // A check that cannot be made (no lakehouse yet) is the input's problem when coded so; anything else is a bug.
        if (err instanceof FractalError && err.exitCode === 2) out.push(locateError(v, err, i));
        else throw err;
      }
    }
    if (s.meta.replays && s.stage.threadsAhead) found.replayThreads = s.stage.threadsAhead(s.params, env);
  }
  // A meta's sleeves, a tournament's cells: every one checked before anything runs (a cell's problem points at the
  // matrix value that caused it). Problems common to several cells are reported once. A cell whose result is in the
  // cache ran from this very config and data (its key says so), so it passed these checks then: not again.
  const seen = new Set(out.map((e) => `${e.code}:${e.message}`));
  const { cachedChild } = await import('../runs/result-cache.js');
  const memo = new Map<string, Promise<string | undefined>>();
  for (const child of [...Object.values(v.sleeves ?? {}), ...Object.values(v.cells ?? {})]) {
    if (!child.resolved) continue;
    if (opts.cacheRoot && v.cells && (await cachedChild(specOf(child)!, opts.cacheRoot, { plugins: built.resolver, lakehousePath: opts.lakehousePath }, memo))) continue;
    for (const e of await preflightPipeline(child, opts)) {
      if (seen.has(`${e.code}:${e.message}`)) continue;
      seen.add(`${e.code}:${e.message}`);
      out.push(e);
    }
  }
  return out;
}

export async function runPipeline(v: ValidationResult, opts: RunOptions): Promise<RunSummary> {
  return (await executePipeline(v, opts)).summary;
}

/**
 * The pipeline file as a run records it: relative to the working directory when it is inside it (a sleeve's or a
 * cell's file is known by its absolute path), so that two checkouts of one project run from their roots record the
 * same bytes; as it is otherwise.
 */
const recordedPath = (file: string) => displayPath(resolve(file));

/**
 * Runs a validated pipeline; returns the summary and the final context (meta pipelines read their sleeves'). The run is
 * one span (`run <name>`, with its run id, config and data hashes and outcome), each stage a child span.
 */
export async function executePipeline(v: ValidationResult, opts: RunOptions): Promise<{ summary: RunSummary; context: AnyContext }> {
  const attributes: Attributes = { 'fractal.pipeline.name': v.resolved?.name ?? '', 'fractal.pipeline.kind': v.resolved?.pipeline ?? '', 'fractal.config_hash': v.hash ?? '', 'fractal.child_run': Boolean(opts.finalPrefixes) };
  // One version of each lakehouse for the whole run, its worker threads and child runs included (src/lakehouse/pins.ts):
  // the versions its preflight read, when the caller ran it.
  return withLakehousePins(() => withSpan(`run ${v.resolved?.name ?? v.file}`, attributes, async (span) => {
    const r = await runValidated(v, opts);
    const s = r.summary;
    span.setAttributes({ 'fractal.run_id': s.run_id, 'fractal.data_hash': s.data_hash ?? '', 'fractal.outcome': s.outcome, 'fractal.folder': s.folder, ...(s.error ? { 'fractal.error.code': s.error.code } : {}) });
    if (s.outcome !== 'succeeded') span.setStatus({ code: 2, message: s.error?.message ?? 'failed' });
    return r;
  }), opts.preflighted?.pins);
}

async function runValidated(v: ValidationResult, opts: RunOptions): Promise<{ summary: RunSummary; context: AnyContext }> {
  if (!v.resolved || !v.hash) throw inputError('CONFIG_INVALID', `${v.file} is not valid; run \`pipeline-run validate ${v.file}\``);
  const config = v.resolved;
  const built = new PipelineFactory(v.registry).build(config);
  let found = opts.preflighted;
  if (!found) {
    found = {};
    const problems = await preflightPipeline(v, { lakehousePath: opts.lakehousePath, ...(opts.noCache ? {} : { cacheRoot: opts.cacheRoot ?? resolve(opts.outRoot) }) }, built, found);
    if (problems.length) throw problems[0].withMore(problems.slice(1));
  }
  const now = opts.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  // The work tree's state, asked of git while the stages run; a manifest written before it answers (an interrupt)
  // asks synchronously.
  let git: Manifest['git'] | undefined = opts.git;
  const gitAnswer = git !== undefined ? Promise.resolve(git) : gitStateAsync(v.baseDir).then((g) => (git = g));
  // A child run (a cell, a sleeve) whose pipeline sits in this run's folder or below is in the same work tree: it
  // records this run's state (`mine`, once git answered). One elsewhere (another repository, maybe) asks git itself.
  const gitFor = (mine: Manifest['git'], childBaseDir: string): Manifest['git'] | undefined => (isInside(resolve(v.baseDir), resolve(childBaseDir)) ? mine : undefined);
  const runId = newRunId(started);
  const log = opts.log ?? (() => {});
  // A top-level run marks its pipeline's interrupted runs (process gone) failed, and says so; it deletes nothing.
  const marked = opts.finalPrefixes ? [] : markInterrupted(join(resolve(opts.outRoot), config.name));
  for (const m of marked) log(`marked an interrupted run failed: ${m.to}`);
  const folder = new RunFolder(resolve(opts.outRoot), opts.folderName ?? config.name, runId, started);
  let audit: AuditLedger;
  try {
    audit = new AuditLedger(`${folder.dir}/audit.jsonl`, runId, now);
  } catch (err) {
    // A manifest whole enough for `runs`, compare and trace: what is known before the run could begin.
    const e = asFractalError(err, 'STAGE_FAILED', `creating the audit of ${folder.dir}`);
    folder.fail({ run_id: runId, name: config.name, outcome: 'failed', started_at: started.toISOString(), config_hash: v.hash ?? '', stages: [], error: { code: e.code, message: e.message, stage: null, exit_code: e.exitCode } }, String(messageOf(err)));
    throw err;
  }
  const artifacts = new ArtifactWriter(folder.dir);
  // Checkpoints: top-level runs only (a child run is cached whole by the result cache), unless told otherwise.
  const checkpoints = (opts.checkpoints ?? !opts.finalPrefixes) ? new CheckpointWriter(folder.dir) : undefined;
  const hashes = checkpoints ? prefixHashes(config, v.baseDir) : undefined;
  // The identities of the data the run read, with the registry entries each covers (normally one source).
  const dataSources = new Map<string, number>();
  const stageRecords: Manifest['stages'] = config.stages.map((s) => ({ type: s.type, ms: null, outcome: 'skipped' }));
  const cache = new Map<string, unknown>();
  const releases: (() => Promise<void> | void)[] = [];
  let currentIndex = 0;
  // For an executor that asks for them (a queue): each child's content identity and data identity, and a meta
  // sleeve's own sleeves that are not in the cache (its flow subtree). Computed only then: local runs never pay.
  const identityMemo = new Map<string, Promise<string | undefined>>();
  const identify = async (child: ValidationResult): Promise<{ key: string | null; dataHash: string | null }> => {
    const { resultKey } = await import('../runs/result-cache.js');
    const spec = specOf(child);
    const k = spec ? await resultKey(spec, { plugins: built.resolver, lakehousePath: opts.lakehousePath }, identityMemo).catch(() => undefined) : undefined;
    return { key: k?.key ?? null, dataHash: k?.data_hash ?? null };
  };
  const subtree = async (child: ValidationResult, cacheRoot: string): Promise<SleeveTask[] | undefined> => {
    if (child.resolved?.pipeline !== 'meta') return undefined;
    const { readCached } = await import('../runs/result-cache.js');
    const out: SleeveTask[] = [];
    for (const s of child.resolved.sleeves ?? []) {
      const g = child.sleeves?.[s.name];
      if (!g) continue;
      const id = await identify(g);
      if (!opts.noCache && id.key && readCached(cacheRoot, id.key)) continue; // its meta takes it from the cache
      const children = await subtree(g, cacheRoot);
      out.push({ name: s.name, kind: s.kind, file: resolve(child.baseDir, s.file), profile: g.composed?.profile?.name, sets: s.set, expectHash: s.config_hash, dataRoots: child.dataRoots, outRoot: '', cacheRoot, lakehousePath: opts.lakehousePath, noCache: opts.noCache, finalPrefixes: [], git: gitFor(await gitAnswer, g.baseDir), ...id, ...(children ? { children } : {}) });
    }
    return out;
  };
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
    finalRunDir: finalPath(join(folder.parent, runId), opts.finalPrefixes),
  };
  // The run services the built pipeline's plugins were given (src/pipeline/container.ts): this run's.
  let replaying = 0;
  const nested = () => Promise.reject(new FractalError('NESTED_REPLAY', 'a replayed stage cannot replay again'));
  const replayed = async <T>(f: () => Promise<T>): Promise<T> => {
    replaying++;
    try {
      return await f();
    } finally {
      replaying--;
    }
  };
  const services: RunServices = {
    cache: {
      get: <T>(key: string) => cache.get(key) as T | undefined,
      set: <T>(key: string, value: T, release?: () => Promise<void> | void) => {
        cache.set(key, value);
        if (release) releases.push(release);
        return value;
      },
    },
    replays: {
      replay: (asOf, replayOpts = {}) => (replaying ? nested() : replayed(() => replayPrefix(built.stages, currentIndex, quietEnv(env), runId, asOf, replayOpts))),
      replayMany: (dates, o) => (replaying ? nested() : replayed(() => replayMany(dates, o))),
    },
    childRuns: {
      runsRoot: opts.cacheRoot ?? resolve(opts.outRoot),
      useCache: !opts.noCache,
      sleeveConfig: (name) => (v.sleeves?.[name] ? specOf(v.sleeves[name]) : undefined),
      cellSpec: (id) => (v.cells?.[id] ? specOf(v.cells[id]) : undefined),
      runCells: async (ids, o) => {
        const cells = (config.tournament?.cells ?? []).filter((c) => ids.includes(c.id));
        for (const id of ids) if (!v.cells?.[id]) throw new FractalError('CELL_UNKNOWN', `no cell '${id}' in ${v.file}`);
        const childOpts = {
          ...opts,
          // The top-level run has the last word when a signal stops the run, not each child run.
          onInterrupted: undefined,
          cacheRoot: opts.cacheRoot ?? resolve(opts.outRoot),
          outRoot: join(folder.dir, 'cells'),
          finalPrefixes: [...(opts.finalPrefixes ?? []), { from: folder.dir, to: join(folder.parent, runId) }],
          // Every cell is the base pipeline: one folder.
          git: gitFor(await gitAnswer, dirname(resolve(v.baseDir, config.tournament!.base.file))),
        };
        const t = config.tournament!;
        const kind = t.base.kind;
        // The worker validates the base with exactly the cell's inputs (profile, base sets, the cell's overrides, the
        // data roots) and refuses to run if the resolved config differs from the one validated here (its hash).
        const jobs: CellJob[] = cells.map((c) => ({
          name: c.id, kind, file: resolve(v.baseDir, t.base.file), profile: v.cells![c.id].composed?.profile?.name,
          sets: [...(t.base.set ?? []), ...Object.entries(c.overrides).map(([p, x]) => `${p}=${canonicalJson(x)}`)],
          expectHash: c.config_hash, dataRoots: v.dataRoots, outRoot: childOpts.outRoot, cacheRoot: childOpts.cacheRoot, lakehousePath: opts.lakehousePath,
          noCache: opts.noCache, finalPrefixes: childOpts.finalPrefixes, folderName: c.id, key: o.keys?.[c.id] ?? null, git: childOpts.git, trace: injectTraceContext(),
        }));
        const local = opts.executors?.cells;
        const executor = opts.cellExecutor ?? (local && o.threads > 1 && cells.length > 1 && isMainThread && local.available() ? local : undefined);
        if (executor?.identities)
          for (const j of jobs) {
            j.dataHash = (await identify(v.cells![j.name])).dataHash;
            const children = await subtree(v.cells![j.name], childOpts.cacheRoot);
            if (children) j.children = children;
          }
        if (executor) return executor.run(jobs, { threads: o.threads, onDone: o.onDone });
        const out: ChildRun[] = [];
        for (const c of cells) {
          try {
            const r = await withSpan(`cell ${c.id}`, { 'fractal.cell': c.id, 'fractal.config_hash': c.config_hash }, () => executePipeline(v.cells![c.id], { ...childOpts, folderName: c.id, log: (m) => log(`  [${c.id}] ${m}`) }));
            out.push(childRunOf(c.id, kind, r.summary, r.context));
          } catch (err) {
            // A cell that cannot even start (an unwritable folder) is a failed cell, not a failed tournament.
            const e = asFractalError(err, 'STAGE_FAILED', `starting cell '${c.id}'`);
            out.push({ name: c.id, outcome: 'failed', run_id: '', folder: '', config_hash: c.config_hash, data_hash: null, error: { code: e.code, message: e.message, stage: null } });
          }
          o.onDone?.(out.length);
        }
        return out;
      },
      runSleeves: async (names, o) => {
        const childOpts = {
          ...opts,
          // The top-level run has the last word when a signal stops the run, not each child run.
          onInterrupted: undefined,
          cacheRoot: opts.cacheRoot ?? resolve(opts.outRoot),
          outRoot: join(folder.dir, 'sleeves'),
          finalPrefixes: [...(opts.finalPrefixes ?? []), { from: folder.dir, to: join(folder.parent, runId) }],
          // A sleeve's folder is its pipeline's name, never this run's own folder name (a meta cell's id).
          folderName: undefined,
          git: undefined,
        };
        for (const n of names) if (!v.sleeves?.[n]) throw new FractalError('SLEEVE_UNKNOWN', `no sleeve named '${n}' in ${v.file}`);
        const mine = await gitAnswer;
        const sleeveGit = (name: string) => gitFor(mine, v.sleeves![name]!.baseDir);
        const sleeves = (config.sleeves ?? []).filter((s) => names.includes(s.name));
        const tasks = (): SleeveTask[] =>
          // The worker validates the sleeve with exactly the inputs the meta's validation used (same profile, same
          // overrides) and refuses to run if the resolved config differs (its hash is checked).
          sleeves.map((s) => ({ name: s.name, kind: s.kind, file: resolve(v.baseDir, s.file), profile: v.sleeves![s.name].composed?.profile?.name, sets: s.set, expectHash: s.config_hash, dataRoots: v.dataRoots, outRoot: childOpts.outRoot, cacheRoot: childOpts.cacheRoot, lakehousePath: opts.lakehousePath, noCache: opts.noCache, finalPrefixes: childOpts.finalPrefixes, git: sleeveGit(s.name), trace: injectTraceContext() }));
        const remote = opts.sleeveExecutor;
        let done: (ChildRun | undefined)[] = [];
        if (remote) {
          const ts = tasks();
          if (remote.identities) for (const t of ts) Object.assign(t, await identify(v.sleeves![t.name]), { children: await subtree(v.sleeves![t.name], childOpts.cacheRoot) });
          done = await remote.run(ts, { threads: o.threads, onDone: o.onDone });
          // Every sleeve came back: nothing runs here.
          if (done.every(Boolean)) return done as ChildRun[];
        }
        // A nested meta inside a worker runs its sleeves in that worker, one after the other (no pools in pools).
        const pool = opts.executors?.sleeves;
        if (!remote && pool && o.threads > 1 && names.length > 1 && isMainThread && pool.available()) return pool.run(tasks(), o.threads, (n) => o.onDone?.(n));
        const out: ChildRun[] = [];
        for (const [i, s] of sleeves.entries()) {
          if (done[i]) {
            out.push(done[i]!);
            continue;
          }
          const r = await withSpan(`sleeve ${s.name}`, { 'fractal.sleeve': s.name, 'fractal.pipeline.kind': s.kind, 'fractal.config_hash': s.config_hash }, () => executePipeline(v.sleeves![s.name], { ...childOpts, git: sleeveGit(s.name), log: (m) => log(`  [${s.name}] ${m}`), sleeveExecutor: undefined, handleSignals: opts.handleSignals }));
          out.push(childRunOf(s.name, s.kind, r.summary, r.context));
          o.onDone?.(out.length);
        }
        return out;
      },
    },
  };
  built.scope.attach(services);
  // A stage that replays on worker threads (StageMeta.replays: the backtest) and says how many has its workers started
  // now: they load the engine and rebuild the pipeline on cores this thread leaves idle while it reads the data and
  // runs the stages before it, and are ready when it has dates (on the walk-forward bench at N=2000 a worker started
  // with the backtest needed ~0.7 s before it decided). Only in the main thread: a run in a worker (a sleeve, a cell) replays in that worker,
  // and a meta's or tournament's children that run in process run one after the other, each with its own workers.
  const replayPool = opts.executors?.replay;
  const replaySetup: ReplaySetup = { config, hash: v.hash, pipelineFile: resolve(v.file), baseDir: v.baseDir, lakehousePath: opts.lakehousePath };
  const replayWorkers = replayPool && isMainThread && replayPool.available() ? replayPool.start(replaySetup, workersToStart(built, opts.reuse?.from ?? 0, found)) : undefined;
  const replayOptionsOf = (o: Omit<ReplayManyOptions, 'threads' | 'onProgress'>): ReplayOptions => ({ lookbackDays: o.lookbackDays, challengers: o.challengers, ...(o.grid ? { grid: o.grid } : {}) });
  // The stage that replays (StageMeta.replays), when it runs in this run: its replays may start before it does.
  const replayingIndex = built.stages.findIndex((s, i) => i >= (opts.reuse?.from ?? 0) && s.meta.replays);
  /**
   * The replaying stage's replays handed to the workers before it runs (Stage.schedule), as soon as the context has
   * what they need (ingestion has opened the market): its decisions do not depend on the stages in between (each
   * replays them as of its own date), so the workers decide while this thread runs those stages; this thread joins
   * when the stage asks (`replayMany`), or cancels the job (a failure before it, a different ask).
   */
  let early: { schedule: ReplaySchedule; join: (decide: DecideHere, onProgress?: (done: number) => void) => ReturnType<ReplayWorkers['run']>; cancel: () => Promise<void> } | undefined;
  let scheduled = false;
  async function startEarly(before: number): Promise<void> {
    if (scheduled || !replayWorkers || before >= replayingIndex) return;
    const s = built.stages[replayingIndex]!;
    // A schedule that cannot be made (or fails: the stage fails the same way when it runs) starts nothing.
    const schedule = await Promise.resolve()
      .then(() => (s.stage.schedule ? s.stage.schedule(ctx, s.params, env) : null))
      .catch(() => null);
    scheduled = schedule !== undefined;
    if (!schedule || schedule.threads < 2 || schedule.dates.length < 2) return;
    let joined!: (decide: DecideHere) => void;
    let cancelled!: (err: unknown) => void;
    const here = new Promise<DecideHere>((resolve, reject) => ([joined, cancelled] = [resolve, reject]));
    here.catch(() => {});
    let done = 0;
    let report: ((done: number) => void) | undefined;
    const threads = Math.min(schedule.threads, schedule.dates.length);
    // The windows' span is the run's child (the stage has not begun); each worker's batch is its child.
    const result = withSpan('backtest windows', { 'fractal.run_id': runId, 'fractal.decisions': schedule.dates.length, 'fractal.threads': threads, 'fractal.early': true }, () =>
      replayWorkers.run({ runId, upto: replayingIndex, options: replayOptionsOf(schedule), trace: injectTraceContext() }, schedule.dates, threads, (d) => {
        done = d;
        report?.(d);
      }, here),
    );
    result.catch(() => {});
    early = {
      schedule,
      join: (decide, onProgress) => {
        // The stage's progress takes in, one by one as ever, what the workers decided before it ran.
        report = onProgress;
        for (let k = 1; k <= done; k++) onProgress?.(k);
        joined(decide);
        return result;
      },
      cancel: async () => {
        cancelled(runError('REPLAY_FAILED', 'the backtest did not take the replays handed out before it ran'));
        await result.catch(() => {});
      },
    };
  }
  /**
   * The run's own decision holds cash instead of failing on what a replayed decision holds cash on (StageMeta.cashOn:
   * no winners, nothing tradable), in a selection run whose later stage replays decisions (the backtest): else a day
   * without winners, appended, would fail the run and take its whole out-of-sample record with it (a meta would leave
   * the sleeve out of every earlier day). A run with nothing that replays still fails: its decision is all it has.
   */
  function holdsCash(err: unknown, index: number, c: AnyContext): { reason: string; error: FractalError } | undefined {
    if (c.kind !== 'selection' || replayingIndex <= index || !(err instanceof FractalError)) return undefined;
    const reason = cashReason(err, built.stages[index]!);
    // Only once the market is open, which the backtest replays from (a stage before ingestion fails as ever); nor
    // when a stage after the backtest requires what the skipped stages alone provide (it would fail on its absence).
    if (reason === undefined || !c.market || c.as_of === undefined) return undefined;
    // What each later stage finds: what the stages before this one provided, the empty book set here, and what the
    // stages from the backtest up to it provide (found by review: counting its own `provides` let a stage through
    // that requires and rewrites a field only the skipped stages make).
    const provided = new Set<string>([...built.stages.slice(0, index).flatMap((s) => s.meta.provides), 'weights', ...built.stages[replayingIndex]!.meta.provides]);
    for (const s of built.stages.slice(replayingIndex + 1)) {
      if (s.meta.requires.some((f) => !provided.has(f))) return undefined;
      for (const f of s.meta.provides) provided.add(f);
    }
    return { reason, error: err };
  }
  async function replayMany(dates: number[], o: ReplayManyOptions): Promise<ReplayOutcome[]> {
    const threads = o.threads ?? 1;
    const replayOptions = replayOptionsOf(o);
    const decideHere = (asOf: number) => replayOutcome(built.stages, currentIndex, quietEnv(env), runId, asOf, replayOptions);
    const handed = early;
    early = undefined;
    if (handed) {
      if (currentIndex === replayingIndex && sameReplays(handed.schedule, dates, o)) {
        const r = await handed.join(decideHere, o.onProgress);
        r.sources.forEach(env.recordData);
        return r.outcomes;
      }
      await handed.cancel();
    }
    const inPool = Boolean(replayWorkers && threads > 1 && dates.length > 1);
    // One span for the windows; in the pool each worker's batch is a child span (its context goes with the job), as is
    // this thread's.
    return withSpan('backtest windows', { 'fractal.run_id': runId, 'fractal.decisions': dates.length, 'fractal.threads': inPool ? Math.min(threads, dates.length) : 1 }, async () => {
      if (inPool) {
        // This thread decides the first share itself, warm, alongside threads - 1 workers.
        const r = await replayWorkers!.run({ runId, upto: currentIndex, options: replayOptions, trace: injectTraceContext() }, dates, Math.min(threads, dates.length), (done) => o.onProgress?.(done), decideHere);
        r.sources.forEach(env.recordData);
        return r.outcomes;
      }
      return withSpan('backtest batch', batchAttributes(dates), async () => {
        const out: ReplayOutcome[] = [];
        for (const d of dates) {
          out.push(await decideHere(d));
          o.onProgress?.(out.length);
        }
        return out;
      });
    });
  }
  const manifest = (outcome: Manifest['outcome'], error?: Manifest['error']): Manifest => {
    const finished = now();
    return {
      fractal_version: fractalVersion(),
      node_version: process.version,
      run_id: runId,
      name: config.name,
      pipeline_file: recordedPath(v.file),
      config_hash: v.hash!,
      config,
      profile: v.composed?.profile ?? null,
      data_hash: combinedDataIdentity(dataSources.keys()),
      data_inputs: [...dataSources.values()].reduce((a, n) => a + n, 0),
      git: git !== undefined ? git : gitState(v.baseDir),
      plugin_modules: pluginModuleHashes(config.plugins, v.baseDir),
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      duration_ms: Math.round(performance.now() - t0),
      stages: stageRecords,
      artifacts: [...artifacts.written, 'audit.jsonl', 'manifest.json'],
      outcome,
      ...(error ? { error } : {}),
      ...(opts.reuse ? { reused: { run_id: opts.reuse.runId, folder: opts.reuse.folder, from: config.stages[opts.reuse.from].type, stages: config.stages.slice(0, opts.reuse.from).map((s) => s.type) } } : {}),
    };
  };

  let ctx: AnyContext = config.pipeline === 'meta' ? newMetaContext(runId, config.sleeves ?? []) : config.pipeline === 'tournament' ? newTournamentContext(runId) : newSelectionContext(runId, {});
  let current: string | null = null;
  const markFailed = (idx: number) => {
    if (idx >= 0 && stageRecords[idx].outcome === 'skipped') stageRecords[idx] = { type: stageRecords[idx].type, ms: null, outcome: 'failed' };
  };
  // Ctrl-C, a kill or a closed terminal: the folder is marked failed (interrupted) before the process ends, never
  // left looking complete. (A stage busy in synchronous code is interrupted when it next yields.) The process then
  // ends by the signal itself, as a shell expects of a program it interrupted (130 for Ctrl-C, 143, 129), so a loop
  // over files stops too.
  const onSignal = (signal: NodeJS.Signals) => {
    for (const sig of STOP_SIGNALS) process.removeListener(sig, onSignal);
    audit.tryEvent(current, 'run_interrupted', { signal });
    if (current) markFailed(currentIndex);
    const error = { code: 'RUN_INTERRUPTED', message: `interrupted by ${signal}${current ? ` during stage '${current}'` : ''}`, stage: current, exit_code: 1 as const };
    const m = manifest('failed', error);
    // Child runs in worker threads end with the process, unmarked: marked here, inside this folder, before it is.
    markChildRunsInterrupted(folder.dir, `interrupted by ${signal} with the run that holds it`);
    const marked = (() => {
      try {
        return folder.fail(m, `[RUN_INTERRUPTED] interrupted by ${signal}${current ? ` during stage '${current}'` : ''}`);
      } catch (err) {
        return { path: folder.dir, unwritten: [messageOf(err)] };
      }
    })();
    const { path: where, unwritten } = marked;
    // A run in this thread and its child runs (a sleeve, a cell) hear the same signal, innermost first (each handler is
    // prepended): a child marks its folder before its parent's is renamed, and the outermost, last, has the last word
    // and ends the process.
    if (--interruptibleRuns > 0) return;
    try {
      opts.onInterrupted?.({ ...summary(m, where), ...(unwritten.length ? { unwritten } : {}) });
    } catch {
      /* the caller's last word must not keep the process from ending */
    }
    if (!opts.onInterrupted) process.stderr.write(`\ninterrupted by ${signal}; the partial run is marked failed in ${where}\n`);
    // Ended by the signal once the process's exit handlers have run (a staged market's folder is removed there):
    // the last of them sends it again, now with no listener, so the default action ends the process.
    if (process.listenerCount(signal) === 0) process.once('exit', () => process.kill(process.pid, signal));
    process.exit(exitStatusOf(signal));
  };
  const signals = opts.handleSignals !== false;
  if (signals) {
    for (const sig of STOP_SIGNALS) process.prependOnceListener(sig, onSignal);
    interruptibleRuns++;
  }
  let failure: FractalError | undefined;
  let rawFailure: unknown;
  /** Where the run's own decision held cash (a stage's cashOn error), and that error. */
  let heldCash: { index: number; error: FractalError } | undefined;
  try {
    audit.event(null, 'run_started', { name: config.name, config_hash: v.hash, pipeline_file: recordedPath(v.file), stages: config.stages.map((s) => s.type) });
    if (marked.length) audit.event(null, 'interrupted_runs_marked', { runs: marked.map((m) => ({ folder: m.to, last_event: m.last_event ?? null })) });
    let start = 0;
    let previous: Parameters<typeof checkpointOf>[3]['previous'];
    if (opts.reuse) {
      const r = opts.reuse;
      current = config.stages[0].type;
      ctx = await restoreReused(r, { config, runId, stages: built.stages, env, artifacts, audit, checkpoints });
      for (let i = 0; i < r.from; i++) stageRecords[i] = { type: stageRecords[i].type, ms: null, outcome: 'reused' };
      log(`stages 1-${r.from} (${config.stages.slice(0, r.from).map((s) => s.type).join(', ')}) reused from run ${r.runId}`);
      start = r.from;
      // What is not plain data (the market) keeps the stage that made it, as in the reused run.
      previous = { refs: contextFieldsOf(ctx), unrestorable: r.checkpoints[r.from - 1].unrestorable, fields: r.checkpoints[r.from - 1].fields };
    }
    for (let i = start; i < built.stages.length; i++) {
      const s = built.stages[i];
      await startEarly(i);
      current = s.type;
      currentIndex = i;
      log(`stage ${i + 1}/${built.stages.length}: ${s.type}`);
      audit.event(s.type, 'stage_started', { index: i, params: s.params });
      const logStart = artifacts.log.length;
      let ms = 0;
      let held: { reason: string; error: FractalError } | undefined;
      // The stage's span holds exactly what the manifest times (its `ms`), and what the stage decided.
      ctx = await withTimedSpan(`stage ${s.type}`, { 'fractal.stage.type': s.type, 'fractal.stage.index': i, 'fractal.run_id': runId }, async (span, clock) => {
        let out: AnyContext;
        try {
          out = (await s.stage.execute(ctx, s.params, env)) ?? ctx;
        } catch (err) {
          held = holdsCash(err, i, ctx);
          if (!held) throw err;
          out = ctx;
        }
        ms = clock.stop() - clock.start;
        span.setAttributes({ ...stageAttributes(out), 'fractal.stage.ms': Math.round(ms * 10) / 10, 'fractal.outcome': held ? 'cash' : 'succeeded' });
        return out;
      });
      stageRecords[i] = { type: s.type, ms: Math.round(ms * 10) / 10, outcome: held ? 'cash' : 'succeeded' };
      env.pipeline.stages[i].ms = ms;
      audit.event(s.type, 'stage_finished', { index: i, ms: stageRecords[i].ms, ...(held ? { outcome: 'cash' } : {}) });
      const windows = i === replayingIndex && ctx.kind === 'selection' ? ctx.backtest?.windows : undefined;
      if (windows?.length && windows.every((w) => w.cash_reason !== undefined)) {
        // Not one decision of the record held anything: cash alone is no record (a liquidity floor or a filter nothing
        // ever passes, a window shorter than the features' lookback), whatever the stages' own decision held. When it
        // held cash too, the run fails on what that decision met, as one without a backtest does.
        if (heldCash) {
          const e = heldCash.error;
          stageRecords[heldCash.index] = { ...stageRecords[heldCash.index]!, outcome: 'failed' };
          current = config.stages[heldCash.index]!.type;
          currentIndex = heldCash.index;
          throw new FractalError(e.code, `${e.message}; every one of the backtest's ${windows.length} decisions held cash too: the run has no record`, e.options);
        }
        stageRecords[i] = { ...stageRecords[i]!, outcome: 'failed' };
        throw runError('BACKTEST_ALL_CASH', `every one of the backtest's ${windows.length} decisions held cash (${cashReasonsText(cashReasonCounts(windows))}): the run has no record`);
      }
      // The backtest's decision on the as-of date reads its train_window days, the stages' own their lookback_days:
      // the first may hold positions where the second held cash. weights.json is the backtest's.
      if (heldCash && windows && ctx.kind === 'selection' && ctx.cash_reason === undefined) log(`${s.type}: its decision as of ${ctx.as_of !== undefined ? isoFromDay(ctx.as_of) : 'the as-of date'} holds positions (weights.json), where the stages' own decision held cash`);
      if (held && ctx.kind === 'selection') {
        heldCash = { index: i, error: held.error };
        // The run's own decision holds cash, as a replayed one would on that date; the stages up to the one that
        // replays are skipped (they decide nothing more), and it replays every date, this one included.
        const asOf = ctx.as_of !== undefined ? isoFromDay(ctx.as_of) : null;
        const skipped = config.stages.slice(i + 1, replayingIndex).map((x) => x.type);
        ctx.weights = [];
        ctx.cash_reason = held.reason;
        audit.event(s.type, 'decision_held_cash', { index: i, as_of: asOf, reason: held.reason, code: held.error.code, message: held.error.message, skipped });
        log(`${s.type}: the stages' own decision as of ${asOf ?? 'the as-of date'} holds cash (${held.reason}: [${held.error.code}] ${held.error.message})${skipped.length ? `; ${skipped.join(', ')} skipped` : ''}`);
        i = replayingIndex - 1;
        continue;
      }
      // The replays' hand-out comes before this stage's checkpoint, which the workers do not wait for.
      await startEarly(i + 1);
      if (checkpoints) {
        const data = [...dataSources].map(([data_hash, entries]) => ({ data_hash, entries }));
        const { checkpoint, refs } = checkpointOf(i, s.type, ctx, { hashes: hashes!, writes: artifacts.log.slice(logStart), data, provides: s.meta.provides, previous }, checkpoints);
        previous = { refs, unrestorable: checkpoint.unrestorable, fields: checkpoint.fields };
      }
    }
    current = null;
    audit.event(null, 'run_finished', { stages: stageRecords.length });
  } catch (err) {
    rawFailure = err;
    failure = locateError(v, pluginFailure(asFractalError(err, 'STAGE_FAILED', `running ${current ? `stage '${current}'` : 'the pipeline'} into ${folder.dir}`), config.plugins, v.baseDir), current ? currentIndex : undefined);
  } finally {
    if (signals && STOP_SIGNALS.some((sig) => process.listeners(sig).includes(onSignal))) interruptibleRuns--;
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
    // Replays handed out that the backtest never took (a failure before it), and workers started for replays that
    // never came (a failure before the backtest, or it decided in process).
    await early?.cancel();
    replayWorkers?.close();
    for (const release of releases.reverse()) await release();
  }
  await gitAnswer;
  if (!failure) {
    const m = manifest('succeeded');
    try {
      return { summary: summary(m, folder.complete(m)), context: ctx };
    } catch (err) {
      // The stages ran, but the run could not be recorded (a full disk at the last write): it failed.
      rawFailure = err;
      failure = asFractalError(err, 'STAGE_FAILED', `recording the run in ${folder.dir}`);
    }
  }
  if (current) markFailed(currentIndex);
  const error: NonNullable<Manifest['error']> = {
    code: failure.code,
    message: failure.message,
    stage: current,
    exit_code: failure.exitCode,
    ...(failure.hint ? { hint: failure.hint } : {}),
    ...(failure.location ? { location: failure.location } : {}),
  };
  // On a full disk these may fail too: the failure is still marked by the folder's name, never left torn.
  const stack = rawFailure instanceof Error && !(rawFailure instanceof FractalError) ? rawFailure.stack : undefined;
  audit.tryEvent(current, 'stage_failed', { error: error.message, code: error.code, ...(error.location ? { location: error.location } : {}), ...(stack ? { stack } : {}) });
  audit.tryEvent(null, 'run_failed', { stage: current, code: error.code });
  const m = manifest('failed', error);
  const at = error.location ? `${error.location.file}:${error.location.line}:${error.location.column}: ` : '';
  // The stack where it helps: a failure nobody coded (a bug) or a plugin's own code; a coded fault (a full disk, a
  // refused permission) says all there is in its message.
  const traced = rawFailure instanceof Error && rawFailure.stack && ['STAGE_FAILED', 'INTERNAL_ERROR', 'PLUGIN_FAILED'].includes(error.code);
  const failed = folder.fail(m, `stage '${current}' failed: [${error.code}] ${at}${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}${traced ? `\n\n${(rawFailure as Error).stack}` : ''}`);
  return { summary: { ...summary(m, failed.path), ...(failed.unwritten.length ? { unwritten: failed.unwritten } : {}) }, context: ctx };
}

/** Whether a stage asks for exactly the replays it scheduled (Stage.schedule): same dates, options and threads. */
function sameReplays(s: ReplaySchedule, dates: number[], o: ReplayManyOptions): boolean {
  const { onProgress: _, ...asked } = o;
  const { dates: scheduled, ...planned } = s;
  return scheduled.length === dates.length && scheduled.every((d, i) => d === dates[i]) && canonicalJson({ ...asked, threads: o.threads ?? 1 }) === canonicalJson(planned);
}

/** Runs of this thread listening for STOP_SIGNALS (a meta and its in-process sleeves). */
let interruptibleRuns = 0;

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

/**
 * How many replay workers a run starts as it begins: those of a stage that replays (StageMeta.replays) and will run
 * (`from` on), one per thread it asks for less the run's own, or, when it asks for no number, per thread its
 * preflight foresaw (Stage.threadsAhead: the work is large). None otherwise: it decides once it has timed a decision,
 * and a worker started for nothing costs its start-up (on the walk-forward bench at N=500, where the backtest decides
 * in process, a worker started as the run began and never used added 0.2-1.2 CPU s). At N=2000 a worker started as
 * the run begins rather than once ingestion has run made its first decision 0.90-1.12 s into the process against
 * 1.17-1.24 s (8 alternating runs: 4.61 s against 4.73 s).
 */
function workersToStart(built: BuiltPipeline, from: number, found: PreflightFindings): number {
  const stage = built.stages.slice(from).find((s) => s.meta.replays);
  const asked = stage?.params[stage.meta.replays!.threadsParam] as number | undefined;
  const threads = stage ? asked ?? found.replayThreads : undefined;
  return threads === undefined ? 0 : Math.max(0, threads - 1);
}

/** What a stage decided, as span attributes: the symbols it holds returns for, the engine, the windows of a backtest. */
function stageAttributes(ctx: unknown): Attributes {
  const c = ctx as { returns?: { symbols?: string[] }; allocation_engine?: string; backtest?: { windows?: unknown[] }; weights?: unknown[] };
  return {
    ...(c.returns?.symbols ? { 'fractal.symbols': c.returns.symbols.length } : {}),
    ...(c.allocation_engine ? { 'fractal.engine': c.allocation_engine } : {}),
    ...(Array.isArray(c.backtest?.windows) ? { 'fractal.windows': c.backtest.windows.length } : {}),
    ...(Array.isArray(c.weights) ? { 'fractal.holdings': c.weights.length } : {}),
  };
}

/**
 * A batch of backtest decisions (each window's, and the final as-of one): how many, and the earliest and latest date
 * (a thread that takes over dates decides them out of order).
 */
export function batchAttributes(dates: number[]): Attributes {
  if (!dates.length) return { 'fractal.decisions': 0 };
  let first = dates[0]!;
  let last = dates[0]!;
  for (const d of dates) [first, last] = [Math.min(first, d), Math.max(last, d)];
  return { 'fractal.decisions': dates.length, 'fractal.decisions.first': isoFromDay(first), 'fractal.decisions.last': isoFromDay(last) };
}

export type { Span };
