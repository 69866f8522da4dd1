/**
 * How a run spreads independent work over threads, or machines. The runner calls these contracts; src/exec
 * implements them with worker threads (`workerExecutors`), and whoever starts a run hands them in
 * (RunOptions.executors: the CLI, a benchmark). Without them, or where they are not available (no compiled
 * workers), the runner does the same work in process, one item after the other, with the same results.
 *
 * A tournament's cells go to a CellExecutor: the local worker pool (src/exec/cell-pool.ts) is the first, a
 * distributed one (BullMQ) can be another. A job is self-contained plain data: the base file and exactly the inputs
 * the tournament validated it with, the config hash the worker must arrive at, and the cell's content identity
 * (config hash + data identity + engine code: the result cache's key), which a queue can use as the job id.
 */
import type { ChildRun, DataSource } from '../core/plugin.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import type { TraceCarrier } from '../util/tracing.js';
import type { Manifest } from '../runs/manifest.js';
import type { ReplayOptions, ReplayOutcome } from './replay.js';
import type { SharedSeries } from '../lakehouse/shared-series.js';
import type { PinnedRegistry } from '../lakehouse/pins.js';

/** What a replay worker rebuilds the run's pipeline from: known as the run starts, before any date is. */
export interface ReplaySetup {
  config: ResolvedConfig;
  hash: string;
  pipelineFile: string;
  baseDir: string;
  lakehousePath: string;
}

/** Backtest windows to replay, handed to a worker that has rebuilt the pipeline: the dates, and which it decides. */
export interface ReplayJob {
  runId: string;
  upto: number;
  /** Every date of the pool, ascending; the worker decides those `claims` hands it. */
  dates: number[];
  /**
   * The pool's claim counters (src/exec/replay-claims.ts, in shared memory) and the block this worker owns: it
   * decides its block from the front, then takes over dates from the back of the block with the most left.
   */
  claims: { buffer: SharedArrayBuffer; own: number };
  options: ReplayOptions;
  /** The market this process already read, in shared memory (src/lakehouse/shared-series.ts). */
  shared?: SharedSeries;
  /** The trace context of the run's span (src/util/tracing.ts): the batch's span joins the run's trace. */
  trace?: TraceCarrier;
  /** The lakehouse registries the run reads (src/lakehouse/pins.ts): the worker reads the same versions. */
  pins?: PinnedRegistry[];
}

/** A replay job as the runner states it: the pool adds the dates, how they are shared out, the shared market and the pins. */
export type ReplayBase = Omit<ReplayJob, 'dates' | 'claims' | 'shared' | 'pins'>;

/**
 * Replay workers started for one run (Executors.replay.start): each loads the engine and rebuilds the pipeline, then
 * waits for its share of the dates. A worker that is waiting never keeps the process alive.
 */
export interface ReplayWorkers {
  /**
   * The dates split in `threads` contiguous blocks, decided by the started workers (more are started if `threads`
   * asks for more) and, with `decideHere`, the calling thread, which takes the first block; a thread done with its
   * block takes over dates left in another's. `decideHere` may be a promise: the calling thread joins when it
   * resolves (an early job, handed out while the run's stages before the backtest still run), taking the last block
   * unless a worker took it over; when it rejects, the job stops with that error. Outcomes in date order (the sources
   * returned are the workers' only: this thread records its own). The workers it used are ended when it returns.
   */
  run(job: ReplayBase, dates: number[], threads: number, onProgress: (done: number) => void, decideHere?: DecideHere | Promise<DecideHere>): Promise<{ outcomes: ReplayOutcome[]; sources: DataSource[] }>;
  /** Ends the workers never handed dates. */
  close(): void;
}

/**
 * One decision made in the calling thread, which is already warm (its JIT, the market it read, the run cache with
 * the block moments of the decisions it made before): the replay pool gives this thread a share of the dates.
 */
export type DecideHere = (asOf: number) => Promise<ReplayOutcome>;

/** A child run (a meta's sleeve, a tournament's cell): its file, validated again in the worker with the same inputs. */
export interface SleeveTask {
  name: string;
  kind: 'selection' | 'meta';
  file: string;
  profile?: string;
  sets?: string[];
  outRoot: string;
  cacheRoot: string;
  lakehousePath: string;
  noCache?: boolean;
  /** The config hash the parent's validation gave this child: the worker's must be the same. */
  expectHash: string;
  /** The data roots the meta was validated with (the sleeve's paths are confined the same way). */
  dataRoots?: string[];
  finalPrefixes?: { from: string; to: string }[];
  /** The run folder's name under outRoot (a cell's id); the pipeline's name when omitted. */
  folderName?: string;
  /**
   * Set for an executor that asks for identities (`identities: true`, a queue): the child's content identity (the
   * result cache's key, null when its data cannot be named before it runs), the data identity its worker must find
   * in its own lakehouse, and for a meta sleeve, its own sleeves that are not in the cache (a flow subtree).
   */
  key?: string | null;
  dataHash?: string | null;
  children?: SleeveTask[];
  /** The trace context of the parent's span (src/util/tracing.ts injectTraceContext): the child run joins its trace. */
  trace?: TraceCarrier;
  /** The work tree's state as the parent run saw it: the child's manifest records it (RunOptions.git). */
  git?: Manifest['git'];
}

/**
 * Where a meta's sleeves run when not on the local pool (a queue). Results in order; `undefined` for a task it did
 * not run (the runner then runs that sleeve in process). A sleeve that cannot be run (it no longer validates, its
 * data differs) rejects the whole call with that sleeve's error, as the local pool does.
 */
export interface SleeveExecutor {
  identities?: boolean;
  run(tasks: SleeveTask[], opts: { threads: number; onDone?: (done: number) => void }): Promise<(ChildRun | undefined)[]>;
}

/**
 * One cell to run: the base validated with `profile` and `sets` must resolve to `expectHash`. `key` is the cell's
 * content identity (null when its data cannot be identified before it runs: a live scanner).
 */
export type CellJob = SleeveTask & { sets: string[]; folderName: string; key: string | null };

export interface CellExecutor {
  /** Whether the runner should set each job's `key`, `dataHash` (see SleeveTask): a queue wants them. */
  identities?: boolean;
  /**
   * Runs the jobs, at most `threads` at once, and returns one ChildRun per job, in order. A cell that fails
   * (its run fails, or its worker cannot run it) comes back failed with its error; it never stops the others.
   */
  run(jobs: CellJob[], opts: { threads: number; onDone?: (done: number) => void }): Promise<ChildRun[]>;
}

/** The executors a run may be handed; each says whether it can run here (compiled workers exist). */
export interface Executors {
  /**
   * Replays of backtest windows: `start` starts `workers` worker threads for a run as it begins, so that they load on
   * idle cores while the stages before the backtest run; the run hands them the dates (ReplayWorkers.run).
   */
  replay?: {
    available(): boolean;
    start(setup: ReplaySetup, workers: number): ReplayWorkers;
  };
  /** A meta pipeline's sleeves, each a child run; the first failure stops the others. */
  sleeves?: {
    available(): boolean;
    run(tasks: SleeveTask[], threads: number, onDone: (done: number) => void): Promise<ChildRun[]>;
  };
  /** A tournament's cells (unless RunOptions.cellExecutor names another executor). */
  cells?: CellExecutor & { available(): boolean };
}
