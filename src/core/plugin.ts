/**
 * The public contract of a Fractal plugin. A plugin is one file exporting one class whose static `meta` describes it;
 * the container binds it by kind and name, the validator checks its params against `meta.params`, and the schema
 * generator and `pipeline-run plugins` read the same object, so the editor, `validate` and the engine never disagree.
 */
import type { Adjustment, AllocationRecord, AnyContext, ContextKey } from './context.js';
import type { FractalError } from './errors.js';
import type { DocumentKind, ResolvedConfig } from './resolved-config.js';

/** Where a stage records its decisions (runs/audit.ts writes it as audit.jsonl). */
export interface Audit {
  event(stage: string | null, event: string, data?: unknown): void;
}

/** Where a stage writes its files, inside the run folder (runs/artifacts.ts). */
export interface Artifacts {
  writeText(name: string, text: string): Promise<string>;
  writeJson(name: string, value: unknown): Promise<string>;
  /** One section of a JSON file several stages write to (metrics.json). */
  writeJsonSection(name: string, section: string, value: unknown): Promise<string>;
  writeBytes(name: string, bytes: Uint8Array): Promise<string>;
}

export const PLUGIN_KINDS = ['stage', 'filter', 'ranker', 'engine', 'scanner', 'simulator', 'reporter'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** A JSON Schema (draft 2020-12 subset as ajv 8 understands it). Defaults live in it. */
export type JsonSchema = Record<string, unknown>;

export interface PluginAlias {
  /** The old name that still resolves. */
  name: string;
  /** Why/when it is deprecated; shown in the warning, e.g. "renamed to 'regime' in 4.0". */
  deprecated: string;
}

export interface PluginMeta {
  kind: PluginKind;
  name: string;
  description: string;
  /** JSON Schema of the plugin's params; must be `type: object` with `additionalProperties: false`. */
  params: JsonSchema;
  aliases?: PluginAlias[];
  /**
   * Set while a plugin's params are fixed (validated, documented) but its implementation has not landed: the
   * text says what is missing. `validate` accepts it; `run` refuses before it starts rather than fail half-way.
   */
  planned?: string;
}

/*
 * Capabilities. What the run, the backtest and the sleeve cache need to know about a plugin it declares in its
 * `meta`, and they read it there, never its name: a new plugin says what it is in its own file. The registry refuses
 * a scanner, an engine or a simulator that leaves one out (PLUGIN_INVALID).
 */

/** A scanner: where candidates and bars come from. */
export interface ScannerMeta extends PluginMeta {
  kind: 'scanner';
  /** Discovery reads a live source (an exchange's markets and tickers, a screener): what it finds is only ever today's. */
  live: boolean;
  /**
   * A backtest's past decisions draw from a universe that does not depend on today (a stored history rediscovered as
   * of the date, or a fixed list filtered by its bars); the backtest records it (`universe_point_in_time`) and says
   * when not. A live scanner is not: every past decision starts from today's survivors.
   */
  pointInTime: boolean;
  /**
   * It names its data before running (`Scanner.dataIdentity`, the fingerprint the manifest records as data_hash),
   * so a meta sleeve reading it is served from the sleeve cache while neither config, data nor code changed.
   */
  cacheable: boolean;
  /** Bars come from the lakehouse (`run` refuses to start without one); otherwise the scanner stages its own. */
  readsLakehouse: boolean;
}

/**
 * Constraints of an AllocationProblem beyond the budget and each asset's bounds (src/portfolio/engine.ts) that an engine
 * may honour. (The gross cap is honoured by none yet: the stage checks it on every result.)
 */
export const ENGINE_CONSTRAINTS = ['groups', 'linear'] as const;
export type EngineConstraint = (typeof ENGINE_CONSTRAINTS)[number];

/** An allocation engine. */
export interface EngineMeta extends PluginMeta {
  kind: 'engine';
  /**
   * The estimate the engine relies on. 'covariance' (the full matrix) is refused, and the next declared fallback
   * tried, when the returns have no more days than assets (the sample matrix is singular there); 'variances' needs
   * two days per asset; 'nothing' (equal weight) needs no estimate at all.
   */
  needs: 'covariance' | 'variances' | 'nothing';
  /**
   * Which constraints its weights satisfy, besides the budget and the bounds (which every engine's do): group caps
   * (clusters, regimes), linear rows (the market-neutral beta band). The allocation stage checks every result anyway
   * and falls back on a violation.
   */
  honours: EngineConstraint[];
  /** It refuses short positions (a negative lower bound) and a budget that is not positive (ENGINE_NEEDS_LONG_ONLY). */
  longOnly: boolean;
  /** The annual volatility its portfolios are expected to stay under (the seeds' bands); the backtest flags drift above it. */
  volatilityBand?: number;
}

/** A simulator: how decisions are held between rebalances. */
export interface SimulatorMeta extends PluginMeta {
  kind: 'simulator';
  /**
   * 'weights': target weights held with drift on returns (it can hold a meta's sleeves, which have no bars);
   * 'orders': orders, fills and a cash account on bars. A backtest's parity check holds the same decisions with a
   * simulator of the other model.
   */
  model: 'weights' | 'orders';
}

export interface StageMeta extends PluginMeta {
  kind: 'stage';
  /** Document kinds this stage may appear in. */
  documents: DocumentKind[];
  /** Context keys the stage reads; each must be provided by an earlier stage (or the document itself). */
  requires: ContextKey[];
  /** Context keys the stage fills. */
  provides: ContextKey[];
  /**
   * Context keys the stage uses when an earlier stage provided them (optional inputs: allocation reads the policy's
   * winners and synthesis's atoms). `validate` uses them to tell when a decision would be ignored.
   */
  reads?: ContextKey[];
  /**
   * Shorthand params moved into a referenced plugin's params before validation, e.g. the inference stage's
   * `weights` is the champion ranker's `weights`: `{ weights: ['rankers', 'ranker'] }`: the first of these ref
   * params that is given (the first item of a list), else the last one with its default.
   */
  shorthands?: Record<string, string[]>;
  /** Groups of params of which at most one may be given (checked before defaults are applied). */
  exclusive?: string[][];
  /**
   * Error codes on which a replayed decision (a backtest window) holds cash instead of failing the run, with the
   * reason recorded: e.g. the allocation stage's `{ NO_WINNERS: 'no winners' }` (the policy let nothing through on
   * that date). So does the run's own decision when a later stage replays (the backtest: src/pipeline/runner.ts
   * holdsCash); a run with nothing that replays still fails on them.
   */
  cashOn?: Record<string, string>;
  /**
   * Whether the stage may appear more than once in a pipeline. Most may not: a second `allocation` would silently
   * overwrite the first's weights, a second `backtest` would replay the first. Refused at validation unless set.
   */
  repeatable?: boolean;
  /**
   * A stage that replays the stages before it on worker threads (the backtest), and the param saying how many threads.
   * When it is given, the runner starts the workers as the run begins, so that they load on idle cores while the
   * stages before this one run (src/pipeline/runner.ts); omitted, the stage decides when it runs. A stage that can
   * tell its replays before it runs says so (Stage.schedule): the runner hands them to the workers at once.
   */
  replays?: { threadsParam: string };
}

export interface PluginClass<T = unknown, M extends PluginMeta = PluginMeta> {
  new (...args: any[]): T;
  readonly meta: M;
}

export type StageClass = PluginClass<Stage, StageMeta>;

/**
 * A plugin's params after validation (defaults applied, unknown keys refused). A plugin narrows it to the type its
 * params schema derives (`Static<typeof PARAMS>`, src/core/params.ts) by taking that type as its `P`.
 */
export type Params = Record<string, unknown>;

/** A plugin reference after validation: always explicit, defaults applied. */
export interface PluginRef {
  name: string;
  params: Params;
}

/**
 * What a stage gets besides the context, for this execution: where to write, what to log, how to reach other plugins.
 * A replayed decision gets a quiet one (no artifacts, no audit, no log). Run-wide services a few plugins need
 * (replays, child runs, the run cache) are not here: they are injected (`SERVICE` below).
 */
export interface StageEnv {
  runId: string;
  /** The folder the run is being written to (a temporary folder until the run completes). */
  runDir: string;
  /** Directory of the pipeline file; relative paths in params resolve against it. */
  baseDir: string;
  lakehousePath: string;
  audit: Audit;
  artifacts: Artifacts;
  plugins: PluginResolver;
  log: (message: string) => void;
  /** Reports progress of long work (a bar on a TTY, silent otherwise). */
  progress: (label: string, done: number, total: number) => void;
  /**
   * Records the identity of the data a stage read (src/lakehouse/registry.ts `dataIdentity`, and how many registry
   * entries it covers); the manifest's data hash is that identity (or their combination when several differ).
   */
  recordData: (source: DataSource) => void;
  /** The run's data hash so far (what the manifest will say), or null before any data is read. */
  dataHash: () => string | null;
  /** The pipeline being run and what has happened so far (for reporters). */
  pipeline: { name: string; hash: string; config: ResolvedConfig; stages: { type: string; ms?: number }[] };
  /** Where this run's folder will be once it completes (the temporary folder is renamed there). */
  finalRunDir: string;
  /**
   * Set while a decision is replayed (a backtest's, quietly: its audit, artifacts and log are discarded, so a stage
   * may skip what only they read), with the backtest's schedule when it has one (a stage may reuse work across
   * windows on it).
   */
  replay?: { grid?: DecisionGrid };
}

/**
 * A backtest's schedule in blocks of rows: decisions every `step` rows on windows made of whole blocks of `block`
 * rows (gcd of the train window and the step) that start on the days `starts` (ascending, the calendar's).
 */
export interface DecisionGrid {
  block: number;
  step: number;
  starts: number[];
}

/*
 * Run services. What only some plugins need (re-making past decisions, running child runs, values kept for the
 * whole run) is not in StageEnv: a plugin asks the container for it in its constructor, by the token in
 * `SERVICE`, and gets the current run's (src/pipeline/container.ts binds them; the runner attaches each run's):
 *
 *   constructor(@inject(SERVICE.Replays) private readonly replays: Replays) {}
 */
export const SERVICE = {
  /** Re-making the decision as of past dates (the backtest). */
  Replays: Symbol.for('fractal.Replays'),
  /** Running child runs: a meta's sleeves, a tournament's cells, and where their results are cached. */
  ChildRuns: Symbol.for('fractal.ChildRuns'),
  /** Values kept for the whole run (a scanner's staged market, read again by every backtest window). */
  RunCache: Symbol.for('fractal.RunCache'),
} as const;

export interface Replays {
  /**
   * Runs the stages before the current one again on a fresh context, as of `asOf` (a stage whose params have
   * `as_of` gets it; `lookback_days` too when given), quietly: no artifacts, no audit events. This is how the
   * backtest re-makes each decision point in time. A replayed stage cannot replay again (NESTED_REPLAY).
   */
  replay(asOf: number, opts?: { lookbackDays?: number }): Promise<import('./context.js').SelectionContext>;
  /**
   * Many replays at once (independent decisions: backtest windows), on worker threads when `threads` > 1 and
   * the compiled workers exist, else one after the other; outcomes in date order, identical either way. The workers
   * are those the run started as it began (StageMeta.replays), and more if `threads` asks for more.
   */
  replayMany(dates: number[], opts: ReplayManyOptions): Promise<ReplayOutcome[]>;
}

export interface ReplayManyOptions {
  lookbackDays?: number;
  challengers?: boolean;
  grid?: DecisionGrid;
  threads?: number;
  onProgress?: (done: number) => void;
}

/**
 * The replays a stage will ask for when it runs (Stage.schedule): exactly the dates and options of its replayMany,
 * with the number of threads (`threads` > 1), known before the stages between run.
 */
export type ReplaySchedule = { dates: number[] } & Required<Pick<ReplayManyOptions, 'threads'>> & Omit<ReplayManyOptions, 'threads' | 'onProgress'>;

export interface ChildRuns {
  /**
   * Meta pipelines: runs sleeves (validated with the meta) as child runs inside this run's folder, on worker
   * threads when `threads` > 1 and the compiled workers exist, else one after the other; results in order.
   */
  runSleeves(names: string[], opts: { threads: number; onDone?: (done: number) => void }): Promise<ChildRun[]>;
  /** A sleeve's resolved config and folder, its own sleeves' too (for its cache key), without running it. */
  sleeveConfig(name: string): RunSpec | undefined;
  /** Tournaments: a cell's resolved config and folder (for its cache key), without running it. */
  cellSpec(id: string): RunSpec | undefined;
  /**
   * Tournaments: runs cells (validated with the tournament) as child runs inside this run's folder, through the
   * run's cell executor (the local worker pool unless another is given) when `threads` > 1, else one after the
   * other in process. A cell that fails comes back failed, with its error; the others go on. Results in order.
   */
  runCells(ids: string[], opts: { threads: number; onDone?: (done: number) => void; keys?: Record<string, string> }): Promise<ChildRun[]>;
  /** The top-level runs root (the result cache lives in <runsRoot>/.cache) and whether caches may be used (--no-cache). */
  readonly runsRoot: string;
  readonly useCache: boolean;
}

/** The run services the runner attaches to a built pipeline's container. */
export interface RunServices {
  replays: Replays;
  childRuns: ChildRuns;
  cache: RunCache;
}

/** A validated pipeline as its cache key needs it: the resolved config, its hash and folder, and its sleeves'. */
export interface RunSpec {
  config: import('./resolved-config.js').ResolvedConfig;
  hash: string;
  baseDir: string;
  sleeves?: Record<string, RunSpec>;
}

/** The identity of the data a run read from one source, and how many registry entries it covers. */
export interface DataSource {
  data_hash: string;
  entries: number;
}

/** One replayed decision as plain data (see src/pipeline/replay.ts). */
export interface ReplayDecision {
  weights: { symbol: string; weight: number; direction: 'LONG' | 'SHORT' }[];
  winners: number | null;
  lastSeen: number | null;
  /** The allocation engine that produced the weights (a fallback shows here). */
  engine: string | null;
  /** Set when the decision is to hold cash (e.g. 'no winners': the policy vetoed everything as of that date). */
  cash_reason?: string;
  /** Constraints changed by a declared rule while deciding (ctx.adjustments). */
  adjustments?: Adjustment[];
  /** What the allocation stage would write for this decision: its metrics.json block and atom weights. */
  allocation?: AllocationRecord;
  /** The market regime read as of the decision date, and the ranker that read it (the champion's when it reads one). */
  regime?: string;
  regime_by?: string;
}

/** A replayed date: the champion's decision, and each challenger ranker's when asked (`challengers`). */
export interface ReplayOutcome extends ReplayDecision {
  asOf: number;
  /** The champion's key (the ranker decisions use), when a scoring stage ran. */
  champion?: string;
  challengers?: Record<string, ReplayDecision>;
}

/** A child run (a sleeve of a meta pipeline, a tournament's cell) as the parent sees it: plain data (it may come from a worker). */
export interface ChildRun {
  name: string;
  outcome: 'succeeded' | 'failed';
  run_id: string;
  folder: string;
  config_hash: string;
  data_hash: string | null;
  error?: { code: string; message: string; stage: string | null };
  /** What the sleeve contributes (undefined when the run produced no out-of-sample returns). */
  result?: import('./context.js').SleeveResult;
}

export interface RunCache {
  get<T>(key: string): T | undefined;
  set<T>(key: string, value: T, release?: () => Promise<void> | void): T;
}

/** A reporter renders the context into files in the run folder and returns their names. */
export interface Reporter<C = AnyContext, P = Params> {
  render(ctx: C, params: P, env: StageEnv): Promise<string[]> | string[];
}

export interface PluginResolver {
  /** An instance of the plugin of `kind` named `name` (aliases resolve). Throws FractalError when unknown. */
  get<T>(kind: PluginKind, name: string): T;
  /** The plugin's `meta`: what it declares it is (see the capabilities above). Throws FractalError when unknown. */
  meta<M extends PluginMeta = PluginMeta>(kind: PluginKind, name: string): M;
  names(kind: PluginKind): string[];
}

export interface Stage<C = AnyContext, P = Params> {
  execute(ctx: C, params: P, env: StageEnv): Promise<C> | C;
  /**
   * Checks that need only the params and the lakehouse's symbols table, made before the run folder exists (unknown
   * symbols, an as-of outside the data, a window longer than the data). Returns every problem as a coded input
   * error whose `param` names the param that caused it; the runner locates it in the pipeline file. A stage that
   * learns the universe (ingestion) records it in `env.universe` for the stages after it.
   */
  preflight?(params: P, env: PreflightEnv): Promise<FractalError[]> | FractalError[];
  /**
   * A stage that replays (StageMeta.replays): the replayMany it will make, as soon as the context before it has what
   * that needs (the market, the calendar: once ingestion has run), so that the runner starts it on the workers while
   * the stages in between run; undefined while it cannot tell yet (asked again after the next stage), null when it
   * will not replay on workers or not know how many before it runs (not asked again). It must be what `execute`
   * asks for (the runner compares and, should they differ, starts over); a failure here is ignored (the stage fails
   * the same way when it runs). It must not change the context.
   */
  schedule?(ctx: C, params: P, env: StageEnv): Promise<ReplaySchedule | null | undefined> | ReplaySchedule | null | undefined;
  /**
   * A stage that replays (StageMeta.replays), its threads param not given: the threads its replays will take when
   * the preflight's findings already tell (the universe, read before any bar), so that the runner starts the workers
   * as the run begins, as it does when the param is given; undefined when it cannot tell or one thread will do. An
   * estimate: a worker started on it and then not needed is ended with the run, never waited for.
   */
  threadsAhead?(params: P, env: PreflightEnv): number | undefined;
}

/** The symbols a run can at most see: its scanner's source's symbols table on one venue, learned without reading bars. */
export interface Universe {
  venue: string;
  symbols: { symbol: string; first_date: string; last_date: string; rows: number }[];
  /** The decision date (the as_of param, else the venue's last bar), as a day number. */
  asOf?: number;
  /** The most candidates a decision keeps (the scanner's limit), when it has one. */
  limit?: number;
}

export interface PreflightEnv {
  baseDir: string;
  lakehousePath: string;
  plugins: PluginResolver;
  /** Set by the ingestion stage's preflight when its scanner can tell (a lakehouse scanner can). */
  universe?: Universe;
}
