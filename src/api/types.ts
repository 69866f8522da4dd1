/**
 * Fractal's public types, in one file (like Rollup's types.d.ts): what `import type { … } from 'fractal'` gives a
 * program that drives Fractal as a library (src/api/index.ts) or writes plugins for it. Everything here is a type;
 * the values (validate, plan, run, openLakehouse, the define* helpers, FractalError) are in index.ts.
 *
 * The plugin contract itself is owned by the layers below (src/core/plugin.ts, the stages' ranker.ts, filter.ts,
 * scanner.ts, src/portfolio/engine.ts and simulator.ts); this file re-exports it so a plugin author never reaches
 * into Fractal's folders.
 */
import type { Diagnostic } from '../config/diagnostics.js';
import type { ErrorLocation } from '../core/errors.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import type { Manifest } from '../runs/manifest.js';
import type { RunSummary } from '../pipeline/runner.js';
import type { CellExecutor, SleeveExecutor } from '../pipeline/executor.js';
import type { Headline } from '../runs/headline.js';
import type { PartialRun } from '../runs/run-folder.js';

// ---- the plugin contract ----
export type {
  Audit,
  Artifacts,
  ChildRun,
  EngineConstraint,
  EngineMeta,
  JsonSchema,
  Params,
  PluginAlias,
  PluginClass,
  PluginKind,
  PluginMeta,
  PluginRef,
  PluginResolver,
  PreflightEnv,
  Reporter,
  ScannerMeta,
  SimulatorMeta,
  Stage,
  StageEnv,
  StageMeta,
  Universe,
} from '../core/plugin.js';
export type { Candidate, FeatureTable, MarketSource, PriceMatrix, ReturnsMatrix, SelectionContext, EpochDay } from '../core/context.js';
export type { Ranker, RankerResult, FactorUse, Regime } from '../../stages/inference/ranker.js';
export type { Filter, FilterCheck, FilterVerdicts } from '../../stages/policy/filter.js';
export type { Scanner, ScanResult, ScanEnv, FunnelStep } from '../../stages/ingestion/scanner.js';
export type { AllocationEngine, AllocationProblem, EngineResult } from '../portfolio/engine.js';
export type { Simulator, Simulation, DecisionPath, SimulatorMarket } from '../portfolio/simulator.js';

// ---- configs, diagnostics, errors, runs ----
export type { Diagnostic, Severity, DiagnosticCode } from '../config/diagnostics.js';
export type { ResolvedConfig, ResolvedStage, DocumentKind } from '../core/resolved-config.js';
export type { ErrorCode, ErrorLocation } from '../core/errors.js';
export type { Manifest } from '../runs/manifest.js';
export type { Headline } from '../runs/headline.js';
export type { RunSummary } from '../pipeline/runner.js';
export type { CellExecutor, CellJob, SleeveExecutor, SleeveTask } from '../pipeline/executor.js';

// ---- distributed runs (startWorker, queueStatus, bullmqExecutors) ----
export type { BatchStatus, QueueStatus } from '../exec/queue-status.js';

// ---- the lakehouse (openLakehouse) ----
export type { Lakehouse, SymbolRow, WriteReport, ClosesOnlyNote, DayRange, StatusReport, VerifyReport } from '../lakehouse/index.js';
export type { Ohlcv } from '../lakehouse/ohlcv.js';
export type { Registry, RegistryEntry } from '../lakehouse/registry.js';

/** How a pipeline file is composed: what `--profile`, `--set` and `--data-root` do on the command line. */
export interface ConfigOptions {
  /** Apply profiles/<name>.yaml (beats the file's own `profile:`). */
  profile?: string;
  /** Overrides, `stages.<type>.<param>=<value>` (numbers, booleans and JSON are parsed). */
  set?: string[];
  /** Folders params may read data from besides the pipeline's repository (FRACTAL_DATA adds more). */
  dataRoot?: string[];
  /** The lakehouse folder (default: FRACTAL_LAKEHOUSE, the file's `lakehouse:`, or ./lakehouse). */
  lakehouse?: string;
}

/** One file's validation. */
export interface FileValidation {
  file: string;
  valid: boolean;
  diagnostics: Diagnostic[];
}

/** What `validate` found: every file (a base another one extends is checked through that one), every problem. */
export interface ValidateResult {
  valid: boolean;
  files: FileValidation[];
  /** Every diagnostic of every file, sorted, each once. */
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
}

export interface PlanOptions extends ConfigOptions {
  /** Another pipeline file, or a git ref (the same file at that commit): the result carries the changes. */
  diff?: string;
  /** The runs root whose result cache a tournament's cells are looked up in (default `runs`). */
  out?: string;
}

/** One change between two resolved configs (`plan --diff`). */
export interface ConfigChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** A tournament cell as planned: its overrides, config hash and whether an unchanged result is cached. */
export interface PlannedCell {
  id: string;
  overrides: Record<string, unknown>;
  config_hash: string;
  champion: boolean;
  cache_key: string | null;
  data_hash: string | null;
  /** null when the data's identity cannot be known before running (no lakehouse, a live scanner). */
  cached: boolean | null;
}

export type PlanResult =
  | { valid: false; file: string; diagnostics: Diagnostic[] }
  | {
      valid: true;
      file: string;
      /** The resolved config's sha256 (hex). */
      hash: string;
      profile: string | null;
      config: ResolvedConfig;
      warnings: Diagnostic[];
      /** With `diff`: the other side and the changes from it to this file. */
      diff?: { before: { source: string; hash: string }; after: { source: string; hash: string }; changes: ConfigChange[] };
      /** A tournament: its cells and the cache they are looked up in. */
      tournament?: { base: unknown; champion: string; cells_max: number; cache: string; lakehouse: string; cells: PlannedCell[] };
    };

export interface RunOptions extends ConfigOptions {
  /** The runs root (default `runs`). */
  out?: string;
  /** false: recompute meta sleeves and tournament cells even when an unchanged result is cached (`--no-cache`). */
  cache?: boolean;
  /** false: everything in this thread (no worker pools); the results are the same bytes. Default true. */
  workers?: boolean;
  /** Progress messages (stage by stage); silent when omitted. */
  log?: (message: string) => void;
  /** Called once the file is valid, before anything runs, with its warnings (deprecated names), if any. */
  onWarnings?: (warnings: Diagnostic[]) => void;
  /** Progress of long work (backtest windows, sleeves, cells). */
  onProgress?: (label: string, done: number, total: number) => void;
  /**
   * true: SIGINT, SIGTERM and SIGHUP belong to the run while it lasts, as in the CLI: the run's folder (and its child
   * runs') is marked failed (RUN_INTERRUPTED), `onInterrupted` is called, and the process ends by that signal.
   * Default false: the host's signals stay the host's (a daemon that drains on SIGTERM or reloads on SIGHUP); a run
   * its process left unfinished stays `.partial`, found as interrupted by `runs` and marked by the next run.
   */
  handleSignals?: boolean;
  /**
   * With `handleSignals`: called when a signal stops the run, with its summary (outcome failed, RUN_INTERRUPTED), once
   * its folder is marked failed, before the process ends. Without it a line on stderr says where the run is.
   */
  onInterrupted?: (summary: RunSummary) => void;
  /** Where a tournament's cells run (a distributed executor); the local worker pool when omitted. */
  cellExecutor?: CellExecutor;
  /** Where a meta's sleeves run (a distributed executor: src/exec/queue-executor.ts); the local worker pool when omitted. */
  sleeveExecutor?: SleeveExecutor;
  /**
   * Start at this stage (a stage type, `type#n` for a repeat, or a 1-based number), taking the stages before it
   * from the run `reuse` names, when their config, the data and Fractal's code are unchanged; refused (REUSE_*, with
   * the reason) otherwise. Both or neither.
   */
  from?: string;
  /** The run to take the stages before `from` from: its folder, its run id under <out>/<name>/, or `latest`. */
  reuse?: string;
  /** false: write no stage checkpoints (the run cannot be reused with `from`). Default true. */
  checkpoints?: boolean;
  /**
   * OpenTelemetry traces of the run (docs/observability.md): true exports where the OTEL_* environment says (OTLP by
   * default); `{ exporter }` adds an SDK SpanExporter (a test's InMemorySpanExporter). Default: on when
   * OTEL_TRACES_EXPORTER names an exporter. A program that registered its own tracer provider gets the spans anyway.
   */
  trace?: boolean | { exporter?: unknown };
}

/** A coded error as plain data (docs/errors.md). */
export interface ErrorInfo {
  code: string;
  exit_code: 1 | 2;
  message: string;
  hint?: string;
  location?: ErrorLocation;
}

/** The files of a run folder a program usually wants. */
export interface RunPaths {
  folder: string;
  manifest: string;
  audit: string;
  /** report.html when the run wrote one, else report.md, else null. */
  report: string | null;
}

export type RunResult =
  /** Refused before anything was written: the file is not valid, or the preflight found problems. Exit code 2. */
  | { outcome: 'invalid'; file: string; diagnostics: Diagnostic[]; errors: ErrorInfo[]; exitCode: 2 }
  | {
      outcome: 'succeeded' | 'failed';
      file: string;
      summary: RunSummary;
      paths: RunPaths;
      /** The headline metrics (metrics.json) of a run with an out-of-sample record; null otherwise. */
      metrics: Headline | null;
      /** Validation warnings (deprecated names): the run went ahead. */
      warnings: Diagnostic[];
      /** 0 succeeded, 1 failed, 2 failed on input found while running. */
      exitCode: 0 | 1 | 2;
    };

/** The manifest's failure, when a run failed. */
export type RunError = NonNullable<Manifest['error']>;

// ---- runs, traces, comparisons (listRuns, traceSymbol, compareRuns) ----
export type { Trace } from './trace.js';
export type { Comparison, RunSide, MetricRow, WeightChange } from './compare.js';

/** One run under a runs root, as listRuns gives it and the runs index shows it. */
export interface RunRow {
  name: string;
  run_id: string;
  folder: string;
  outcome: string;
  started_at: string;
  duration_ms: number;
  config_hash: string;
  stages: string;
  metrics?: { cagr?: number; sharpe?: number; max_drawdown?: number; volatility?: number; turnover?: number };
  data_hash?: string | null;
  kind?: string;
  /** The profile the run's config was composed with (`--profile`), null without one. */
  profile?: string | null;
  /** The compare page against the previous run of the same pipeline (relative to the runs root), when written. */
  compare?: { with: string; page: string };
  error?: string;
  /** Interrupted or running runs (and failed ones without a manifest): the last whole event of the audit. */
  last_event?: PartialRun['last_event'];
  /** A running run's process. */
  pid?: number;
}

/** What writeRunsIndex wrote. */
export interface RunsIndex {
  /** index.html and index.md, absolute. */
  html: string;
  md: string;
  rows: RunRow[];
  /** Compare pages written now (existing ones are kept: run folders do not change once written). */
  comparePages: number;
}

/** What writeSchemas/checkSchemas and writeDocs/checkDocs found in a generated folder. */
export interface GeneratedFiles {
  /** The folder, absolute. */
  dir: string;
  /** How many files the registry generates. */
  files: number;
  /** The files (relative to dir) that differed or were missing: written by write*, only named by check*. */
  stale: string[];
  /** Docs: the pages of no plugin (removed by writeDocs). Schemas: always empty. */
  extra: string[];
}
