/**
 * Every run-time error code in one table (Rollup's model, like the config diagnostics' CODES): what it means, the
 * process exit code it gives (2 the input is wrong, 1 the run failed) and the hint printed when the place that
 * raises it has nothing more specific to say. `inputError` and `runError` accept only codes listed here with the
 * matching exit code, so the type checker keeps the table complete; docs/errors.md lists every entry and a test
 * keeps the two in step. Codes never change meaning; new ones are added.
 */
export interface ErrorSpec {
  exit: 1 | 2;
  /** What the code means, one line (docs/errors.md). */
  summary: string;
  /** Printed when the raising site gives no hint of its own. */
  hint?: string;
}

const LAKEHOUSE_FIX = 'Run `pipeline-run lakehouse verify` to see every damaged file and `lakehouse repair` to restore them.';

export const ERRORS = {
  // ------------------------------------------------------------------ usage and config (exit 2)
  USAGE: { exit: 2, summary: 'a command used the wrong way (an unknown format or kind, a bad --diff)', hint: 'Run `pipeline-run help <command>`.' },
  CLI_BAD_OPTION: { exit: 2, summary: 'a command-line option with a value out of its range or set', hint: 'Run `pipeline-run help <command>` for the allowed values.' },
  CONFIG_INVALID: { exit: 2, summary: 'the pipeline file did not validate; nothing ran', hint: 'Run `pipeline-run validate <file>` for every problem with its file:line:col.' },
  NO_FILES: { exit: 2, summary: '`validate` found no pipeline files under the paths given' },
  PIPELINE_NOT_RUNNABLE: { exit: 2, summary: 'the pipeline uses a planned plugin (params fixed, implementation not landed)', hint: '`pipeline-run plugins` marks planned plugins.' },
  PLUGIN_UNKNOWN: { exit: 2, summary: 'a plugin name the container does not know (reached outside validation)', hint: 'Run `pipeline-run plugins` to list them.' },
  PLUGIN_INVALID: { exit: 2, summary: "a plugin class whose `meta` breaks the plugin contract (kind, name, params schema)", hint: 'See docs/architecture.md, "Plugins".' },
  PLUGIN_DUPLICATE: { exit: 2, summary: 'two plugins (or aliases) of one kind share a name; refused at start', hint: 'Plugin names are unique per kind; rename one of them.' },
  OUT_NOT_WRITABLE: { exit: 2, summary: 'the run folder cannot be created under --out (permissions, a file in the way, a read-only disk)', hint: '--out must be a folder you can write to (it is created when missing).' },
  NO_RUNS: { exit: 2, summary: '`runs` found no runs folder', hint: 'Run a pipeline first, or point --out at the runs root.' },
  REUSE_RUN_NOT_FOUND: { exit: 2, summary: '`run --reuse` names no run folder (a path, a run id under <out>/<name>/, or `latest`)', hint: 'Give the folder `pipeline-run` printed, or a run id of the same pipeline; `pipeline-run runs` lists them.' },
  REUSE_FROM_UNKNOWN: { exit: 2, summary: '`run --from` names no stage of the pipeline after its first (a stage type, `type#n` for a repeat, or a 1-based number); or one of --from and --reuse is missing', hint: '`pipeline-run plan <file>` lists the stages; both --from and --reuse are needed.' },
  REUSE_NO_CHECKPOINT: { exit: 2, summary: 'the run to reuse holds no checkpoint of a stage before --from (made before checkpoints, with --no-checkpoints, or it failed earlier)', hint: 'Run the pipeline once in full; later runs can start from any of its stages.' },
  REUSE_CONFIG_CHANGED: { exit: 2, summary: 'a stage before --from is configured differently from the run to reuse (its params, the stages, plugin modules or input files); the message names it', hint: 'Start from the first stage that changed (--from), or run in full.' },
  REUSE_DATA_CHANGED: { exit: 2, summary: 'the data differs from what the run to reuse read (its data hash), or cannot be known before running (a live scanner)', hint: 'Run in full: the earlier stages must see the new data.' },
  REUSE_RUN_DAMAGED: { exit: 2, summary: 'the run to reuse is damaged: its manifest or audit is not a run\'s, a checkpoint is torn or names a path outside the run folder, or a checkpoint blob or an artifact the reused stages wrote is missing, changed (not the sha256 or size its checkpoint recorded), a symbolic link or not a regular file; nothing was written', hint: 'Reuse another run (`pipeline-run runs` lists them), or run in full.' },
  REUSE_CODE_CHANGED: { exit: 2, summary: "Fractal's code differs from the build that made the run to reuse", hint: 'Run in full once with this build; later runs can reuse it.' },
  NOT_A_RUN: { exit: 2, summary: '`trace` was given a folder that is not a run folder', hint: 'Give the folder `pipeline-run` printed, e.g. runs/<name>/<run_id>.' },
  SYMBOL_NOT_IN_RUN: { exit: 2, summary: '`trace` was asked for a symbol the run never saw' },
  RUN_NOT_FOUND: { exit: 2, summary: '`trace` or `compare` names a run that is no folder and no run id (or `<run_id>.failed`) of a run under --out', hint: 'Give the run folder `pipeline-run` printed, or a run id with the --out it is under; `pipeline-run runs --out <dir>` lists them.' },
  RUN_AMBIGUOUS: { exit: 2, summary: '`trace` or `compare` names a run id that runs of more than one pipeline under --out have (each is named)', hint: 'Give the run folder instead (<out>/<name>/<run_id>).' },
  NOTHING_TO_TRACE: { exit: 2, summary: '`trace` was given a run with no discovery to follow: it wrote no candidates.json (it failed or was stopped before discovery, or its pipeline has no ingestion stage), or a tournament whose champion cell left no run folder', hint: '`pipeline-run runs` lists the runs with their outcome and error; trace a run that got past discovery.' },

  // ------------------------------------------------------------------ lakehouse
  LAKEHOUSE_MISSING: { exit: 2, summary: 'no lakehouse (registry.json) at the folder a command or run reads', hint: 'Fill it first: `pipeline-run lakehouse seed --synthetic`, `lakehouse import <csv>` or `lakehouse ingest --exchange ID`; or point --lakehouse / FRACTAL_LAKEHOUSE at it.' },
  LAKEHOUSE_NOT_A_FOLDER: { exit: 2, summary: 'the lakehouse path is a file', hint: 'Point --lakehouse / FRACTAL_LAKEHOUSE at a folder.' },
  LAKEHOUSE_MISSING_DATA: { exit: 2, summary: 'symbols or date ranges a run asked for are not in the lakehouse (every one is named)', hint: 'Run `pipeline-run lakehouse status` to see what it holds.' },
  LAKEHOUSE_BAD_DATE: { exit: 2, summary: 'a date that is not YYYY-MM-DD in a lakehouse request' },
  LAKEHOUSE_BAD_RANGE: { exit: 2, summary: 'a lakehouse request whose start is after its end, or that asks for no symbols' },
  LAKEHOUSE_NAME: { exit: 2, summary: 'a symbol or venue name that cannot become a file name (characters or length)' },
  LAKEHOUSE_DUPLICATE: { exit: 2, summary: 'one write names the same venue/symbol twice' },
  LAKEHOUSE_SOURCE_CLASH: { exit: 2, summary: 'an import would overwrite symbols stored from another source; nothing was written', hint: 'Pass --replace to overwrite them, or import under another --venue.' },
  LAKEHOUSE_CORRUPT: { exit: 1, summary: 'a stored file does not match its checksum, its registered size or rows, cannot be decoded, or is not a regular file (a FIFO, a device)', hint: LAKEHOUSE_FIX },
  LAKEHOUSE_REGISTRY: { exit: 1, summary: "the lakehouse's registry.json is unreadable (not a regular file, too large, not JSON, another version), or an entry is not what a commit writes (a field of the wrong type or range, a key that is not its venue/symbol, a file outside the lakehouse, dates that are not dates); the entry and the field are named", hint: 'Every reader, verify and repair included, starts from registry.json: restore it (or the folder) from a backup, or build the lakehouse again by importing its sources.' },
  LAKEHOUSE_CHANGED: { exit: 1, summary: 'the lakehouse was written (an import committed) while the run read it, and the version of a file the run started from is no longer kept (versions/, FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours); nothing is damaged', hint: 'A run reads one version of the data: run it again, or keep versions longer than the run takes (FRACTAL_LAKEHOUSE_KEEP_VERSIONS).' },
  LAKEHOUSE_JOURNAL: { exit: 1, summary: "the lakehouse's commit journal is unreadable, names files that are gone, or names paths outside the lakehouse (nothing is renamed)", hint: 'It is written atomically, so this is outside damage: restore the folder from a backup.' },
  LAKEHOUSE_LOCKED: { exit: 1, summary: 'another process held the lakehouse writer lock for longer than the wait, or LOCK is not a lock file (a folder, a FIFO: it is named)', hint: 'Wait for the other writer, or remove a stale lock that `lakehouse status` names.' },
  LAKEHOUSE_READ_ONLY: { exit: 1, summary: 'a write through a lakehouse handle opened read-only (a bug in the caller)' },
  LAKEHOUSE_WRITE: { exit: 1, summary: 'a series handed to the store is inconsistent (column lengths, order, non-finite or non-positive prices); nothing was written' },

  // ------------------------------------------------------------------ sources
  CSV_NOT_FOUND: { exit: 2, summary: 'the CSV file or folder does not exist' },
  CSV_EMPTY: { exit: 2, summary: 'no .csv files in the folder, or no prices in them' },
  CSV_LAYOUT: { exit: 2, summary: 'a layout other than wide or ohlcv' },
  CSV_ASSET_TYPE: { exit: 2, summary: 'an asset type other than spot, perp, equity or etf' },
  CSV_INVALID: { exit: 2, summary: 'CSV content refused, each problem with file:line (numbers, dates, headers, symbol names, compression, line length); nothing was written', hint: 'See docs/lakehouse.md, "CSV rules".' },
  CSV_TOO_LARGE: { exit: 2, summary: 'a CSV file (uncompressed) beyond the size limit, or not a regular file (a device, a pipe)', hint: 'Split the file, or import a folder of per-symbol files.' },
  SYMBOLS_UNKNOWN: { exit: 2, summary: 'a symbols file (`lakehouse symbols`) names symbols the lakehouse does not hold, each with file:line; nothing was written', hint: 'Fill the lakehouse first, fix the names, or pass --skip-unknown to set only the symbols it holds.' },
  CANDIDATES_FILE: { exit: 2, summary: '`candidates_path` is not a readable JSON list of {symbol, ...}' },
  SYNTHETIC_SYMBOLS: { exit: 2, summary: '--symbols of the synthetic source out of range' },
  SYNTHETIC_DAYS: { exit: 2, summary: '--days of the synthetic source out of range' },
  SYNTHETIC_SEED: { exit: 2, summary: '--seed of the synthetic source out of range' },
  SYNTHETIC_END: { exit: 2, summary: '--end of the synthetic source is not a date' },
  CCXT_EXCHANGE: { exit: 2, summary: 'no exchange id, or one ccxt does not know' },
  CCXT_TYPE: { exit: 2, summary: '--type other than spot or swap' },
  CCXT_SYMBOLS: { exit: 2, summary: 'symbols the exchange has no active market for' },
  CCXT_SINCE: { exit: 2, summary: '--since is not a date' },
  CCXT_FAILED: { exit: 1, summary: 'the exchange or the network failed', hint: 'Check the network and the exchange status; run again to fetch only what is missing.' },
  TRADINGVIEW_FAILED: { exit: 1, summary: 'the TradingView screener request failed', hint: 'Check the network, the market name and the filters.' },

  // ------------------------------------------------------------------ the data a run reads (exit 2: the params ask for what is not there)
  SCAN_VENUE: { exit: 2, summary: 'the scanner asks for a venue the lakehouse does not hold, or names none where the lakehouse holds several spot venues', hint: 'Run `pipeline-run lakehouse status` to see what the lakehouse holds.' },
  AS_OF_OUTSIDE_DATA: { exit: 2, summary: "`as_of` before the venue's first bar or after its last one", hint: "Omit `as_of` to decide as of the data's last day." },
  NOT_ENOUGH_HISTORY: { exit: 2, summary: 'fewer days of data up to the as-of date than the run needs', hint: 'Lower lookback_days (or the as-of date) or load more history.' },
  META_TOO_SHORT: { exit: 2, summary: "the sleeves' common out-of-sample record is no longer than meta_optimize's train_window", hint: "Lower meta_optimize's train_window, or give the sleeves longer out-of-sample records." },
  BACKTEST_TOO_SHORT: { exit: 2, summary: 'train_window leaves no day to test in the data', hint: 'Lower train_window (a profile such as development does) or load more history.' },
  SIMULATOR_NEEDS_BARS: { exit: 2, summary: "meta_optimize names an order-level simulator, which needs bars; a meta pipeline holds its sleeves' return streams", hint: "Use simulator: vectorized in meta_optimize (a sleeve's own backtest may use event_driven)." },
  UNKNOWN_SYMBOL: { exit: 2, summary: 'a param names a symbol that is not in the universe (symbol_bounds, budgets, a benchmark)' },
  BENCHMARK_NO_HISTORY: { exit: 2, summary: "market_neutral's benchmark has too few returns in a decision's window to give the assets' betas (fewer than 2, none that vary, or fewer than 2 days shared with an asset); the message names the benchmark and the window", hint: 'A backtest holds cash on such a date (before the benchmark lists); for a single decision, move as_of or lookback_days to where the benchmark has history, or name a benchmark listed earlier.' },

  // ------------------------------------------------------------------ allocation constraints (exit 2: the params cannot be met)
  BAD_BOUNDS: { exit: 2, summary: "a symbol's lower bound is above its upper bound" },
  MINIMUMS_ABOVE_BUDGET: { exit: 2, summary: 'the lower bounds sum to more than the budget', hint: 'Lower the lower bounds or raise the budget.' },
  CAPS_BELOW_BUDGET: { exit: 2, summary: 'the upper bounds cannot add up to the budget', hint: 'Raise the cap or widen the universe.' },
  CLUSTER_CAPS_BELOW_BUDGET: { exit: 2, summary: 'the cluster caps cannot hold the budget', hint: 'Raise cluster_cap, widen the bounds or widen the universe.' },
  ZERO_BUDGET: { exit: 2, summary: 'a budget of 0 where every bound allows 0: every weight would be 0', hint: 'Give a non-zero budget; a dollar-neutral book (budget 0) needs bounds that force its legs.' },
  GROSS_CAP_BELOW_BUDGET: { exit: 2, summary: '|budget| exceeds the gross direction cap' },
  NET_CAP_BELOW_BUDGET: { exit: 2, summary: '|budget| exceeds the net direction cap of a long-only book' },
  GROSS_CAP_UNSUPPORTED: { exit: 2, summary: 'a gross cap with negative bounds, which no engine solves yet', hint: 'Express shorts as SHORT atoms (synthesis direction: SHORT or BOTH), or drop the gross cap.' },

  // ------------------------------------------------------------------ a run that failed on its data (exit 1)
  EMPTY_UNIVERSE: { exit: 1, summary: 'no candidates left (discovery, listing dates or returns)', hint: 'Loosen the scanner params (venue, liquidity floors, exclusions) or check the data.' },
  NO_RETURNS: { exit: 1, summary: 'a stage ran without the returns the ingestion stage provides' },
  NO_FEATURES: { exit: 1, summary: 'a stage ran without the features the feature_engineering stage provides' },
  NO_SCORES: { exit: 1, summary: 'a stage ran without the scores the inference stage provides' },
  NO_WINNERS: { exit: 1, summary: 'the policy left no winners (every candidate vetoed or ineligible)', hint: "See the policy stage's veto records (audit.jsonl, or `pipeline-run trace <run> <symbol>`) and loosen the filters or widen the universe." },
  FILTER_FEATURE_MISSING: { exit: 1, summary: 'a filter needs a feature the feature_engineering stage did not compute' },
  RANKER_NO_FACTORS: { exit: 1, summary: 'a ranker has no factor it can score on' },
  RANKER_UNKNOWN_FACTOR: { exit: 1, summary: 'a ranker weight names a factor that was not computed' },
  RANKER_BAD_OUTPUT: { exit: 1, summary: 'a ranker returned convictions of the wrong length or kind (a bug in the ranker)' },
  WINNER_WITHOUT_RETURNS: { exit: 1, summary: 'synthesis found winners that have no returns' },
  DUPLICATE_ATOM: { exit: 1, summary: 'two strategy atoms with one id' },
  TOO_FEW_OBSERVATIONS: { exit: 1, summary: 'an engine needs a covariance matrix, and the returns have no more days than assets', hint: 'Lengthen lookback_days (more days than assets), shrink the universe, or declare a fallback that needs no covariance (equal_weight).' },
  CLUSTER_CAPS_INFEASIBLE: { exit: 1, summary: 'with on_infeasible_caps: refuse, the clusters of a decision cannot hold the budget under their caps', hint: 'Set on_infeasible_caps: relax (the cap rises to 1/k, recorded), raise cluster_cap or regime_caps, or cut the tree into more clusters.' },
  ENGINE_NEEDS_LONG_ONLY: { exit: 1, summary: 'a long-only engine was given negative bounds or a non-positive budget' },
  ENGINE_INFEASIBLE_RESULT: { exit: 1, summary: "an engine returned weights that break the problem's constraints" },
  HERC_NO_RETURNS: { exit: 1, summary: 'herc with risk_measure cvar was given no daily returns' },
  MAX_SHARPE_BUDGET: { exit: 1, summary: 'max_sharpe needs a positive budget' },
  MAX_SHARPE_NO_EXCESS_RETURN: { exit: 1, summary: 'no asset is expected to beat the risk-free rate, so no tangency portfolio exists' },
  MAX_SHARPE_DEGENERATE: { exit: 1, summary: 'the tangency problem has no portfolio with a positive scale' },
  TARGET_RETURN_INFEASIBLE: { exit: 1, summary: 'efficient_return: no portfolio within the constraints reaches the target return' },
  TARGET_VOLATILITY_INFEASIBLE: { exit: 1, summary: 'efficient_risk: the least volatile portfolio within the constraints is above the target' },
  ALLOCATION_FAILED: { exit: 1, summary: 'every engine (and every declared fallback) failed; each reason is listed', hint: 'Declare a fallback, e.g. fallback: [equal_weight].' },
  BACKTEST_NO_MARKET: { exit: 1, summary: 'the backtest ran without the market the ingestion stage opens' },
  BACKTEST_ALL_CASH: {
    exit: 1,
    summary: 'every walk-forward decision held cash: the run has no out-of-sample record',
    hint: "The message counts the decisions' reasons. The usual cause is a train_window shorter than the features' lookback (validate warns: GRAPH_WINDOW_SHORTER_THAN_LOOKBACK): every completeness filter then vetoes every candidate; else a liquidity floor or a filter that nothing passes.",
  },
  CHALLENGER_CALENDAR: { exit: 1, summary: "a challenger ranker's decisions were held on another calendar than the champion's (a bug)" },
  LOOKAHEAD: { exit: 1, summary: 'a decision saw data after its own date (a bug: the run is refused rather than reported)' },
  NO_HEALTHY_SLEEVES: { exit: 1, summary: 'every sleeve of a meta pipeline failed or was vetoed' },
  SLEEVE_FAILED: {
    exit: 1,
    summary: "a meta's sleeve failed, or gave no out-of-sample returns: the meta fails rather than drop the sleeve from every day of its record",
    hint: "Fix the sleeve's run (its failed folder, named in the message, says why). Or set meta_returns' on_sleeve_failure: leave_out to leave such sleeves out of every day of the record, flagged in the report: a failure that later data caused then changes earlier days.",
  },
  NO_COMMON_HISTORY: { exit: 1, summary: "the sleeves' out-of-sample returns share fewer than two days", hint: "Use join: outer, or give the sleeves' backtests overlapping periods." },
  STABLE_SUM_GATE: { exit: 1, summary: 'flattened weights do not sum to the target exposure' },
  TREE_MISMATCH: { exit: 1, summary: 'the weight tree and the flattened weights disagree' },
  SLEEVE_UNKNOWN: { exit: 1, summary: 'a meta stage asked for a sleeve the meta pipeline does not declare' },
  TOURNAMENT_CHAMPION_FAILED: { exit: 1, summary: "a tournament's champion cell failed: every other cell is compared with it", hint: 'Fix the champion, or name another one (champion: <cell id>); cells.json lists every cell with its error.' },
  TOURNAMENT_ALL_CELLS_FAILED: { exit: 1, summary: 'every cell of a tournament failed', hint: 'cells.json lists every cell with its error, and its run folder under cells/ when it left one.' },
  TOURNAMENT_NO_COMMON_DAYS: { exit: 1, summary: 'the cells of a tournament that ran share fewer than 3 days of out-of-sample returns', hint: "Cells are compared on the days they all have: check the cells' backtest periods (cells.json lists each cell's days)." },
  CELL_UNKNOWN: { exit: 1, summary: 'a tournament stage asked for a cell the tournament does not declare (a bug)' },
  CHILD_RUN_FAILED: { exit: 1, summary: "a sleeve's or cell's worker could not run it (it no longer validates as its parent did, or the worker crashed); recorded as that child's error" },
  CHILD_NO_RETURNS: { exit: 1, summary: "a tournament cell's run succeeded but produced no out-of-sample returns; recorded as that cell's error" },

  // ------------------------------------------------------------------ distributed runs (docs/distributed.md)
  QUEUE_NO_REDIS: { exit: 2, summary: '`--executor bullmq`, `worker` or `queue status` without a Redis URL', hint: 'Pass --redis redis://host:6379 or set FRACTAL_REDIS_URL.' },
  QUEUE_UNREACHABLE: { exit: 1, summary: 'Redis did not answer at the URL given within the wait', hint: 'Start Redis (docs/distributed.md gives its settings) or fix --redis / FRACTAL_REDIS_URL.' },
  QUEUE_CONFIG_MISMATCH: { exit: 1, summary: "a worker cannot validate a child's file, or resolves it to another config hash than the submitter (its copy of the files differs); failed once, not retried", hint: 'Workers need the same pipeline files as the submitter (the same checkout, at the same path or the same path relative to their working folder).' },
  QUEUE_DATA_MISMATCH: { exit: 1, summary: "a worker's lakehouse gives another data identity than the submitter's for a child; failed once, not retried", hint: "Point the worker's --lakehouse at the same data as the submitter's (a shared copy, or the same import)." },
  QUEUE_ENGINE_MISMATCH: { exit: 1, summary: 'a job was submitted by another Fractal version than the worker runs; failed once, not retried', hint: 'Run the same Fractal version on the submitter and on every worker.' },
  QUEUE_OUT_MISMATCH: { exit: 1, summary: "a worker's --out is not the submitter's runs root (it does not hold the root's identity file, .jobs/ROOT); the child is refused before anything is written", hint: "The submitter's --out and every worker's --out must be the same shared folder (docs/distributed.md)." },
  QUEUE_RESULT_MISSING: { exit: 1, summary: "a finished child's result is not under the submitter's --out (the workers write under theirs)", hint: "The submitter's --out and every worker's --out must be the same shared folder (docs/distributed.md)." },
  QUEUE_JOB_FAILED: { exit: 1, summary: "a child's job failed without a coded error (its worker crashed or stalled too often, or retries ran out); recorded as that child's error", hint: '`pipeline-run queue status` lists failed jobs with their reasons.' },

  // ------------------------------------------------------------------ the machine and the process (exit 1)
  DISK_FULL: { exit: 1, summary: 'no space left on the device (ENOSPC, EDQUOT); the folder being written is named', hint: 'Free space, or point --out (or --lakehouse) at a larger disk.' },
  NO_PERMISSION: { exit: 1, summary: 'the operating system refused access (EACCES, EPERM); the path is named', hint: 'Check the permissions of the folder named.' },
  READ_ONLY_FILESYSTEM: { exit: 1, summary: 'a write to a read-only file system (EROFS); the path is named', hint: 'Point --out (or --lakehouse) at a writable disk.' },
  TOO_MANY_OPEN_FILES: { exit: 1, summary: 'the process ran out of file descriptors (EMFILE, ENFILE)', hint: 'Raise the limit (`ulimit -n`) or run fewer workers.' },
  RUN_NOT_MARKED: { exit: 1, summary: 'a failed run could not even be renamed to <run_id>.failed; its .partial folder is named', hint: 'Free space, then `pipeline-run runs --prune` removes it.' },
  RUN_INTERRUPTED: { exit: 1, summary: 'the run was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP; the process then ends by that signal), or its process died (found later by `runs`)', hint: '`pipeline-run runs` lists interrupted runs; `runs --prune` removes them.' },
  ARTIFACT_PATH: { exit: 1, summary: 'a stage tried to write an artifact outside its run folder (a bug in the stage)' },
  REPLAY_FAILED: { exit: 1, summary: 'a backtest worker thread crashed or exited without a result' },
  NESTED_REPLAY: { exit: 1, summary: 'a replayed stage tried to replay again (a bug in the stage)' },
  PLUGIN_NOT_IMPLEMENTED: { exit: 1, summary: 'a plugin method that is declared but not implemented' },
  PLUGIN_FAILED: { exit: 1, summary: "a pipeline's own plugin module threw an error that is not a coded one (the module and its file:line:col are named)", hint: "The error is in the plugin's code: fix it there (`--debug` prints the whole stack)." },
  STAGE_FAILED: { exit: 1, summary: 'a stage threw an error that is not a coded one (a bug: the FAILED file has the stack)', hint: 'Run with --debug for the stack trace, and please report it.' },
  INTERNAL_ERROR: { exit: 1, summary: 'an error outside any run that is not a coded one (a bug)', hint: 'Run with --debug for the stack trace, and please report it.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
type WithExit<X> = { [K in ErrorCode]: (typeof ERRORS)[K]['exit'] extends X ? K : never }[ErrorCode];
/** Codes for input the user can fix (exit 2). */
export type InputErrorCode = WithExit<2>;
/** Codes for runs that failed (exit 1). */
export type RunErrorCode = WithExit<1>;

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERRORS, code);
