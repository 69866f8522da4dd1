/**
 * The contexts that flow through stages. Everything a stage decides lands here or in the audit ledger.
 * Per-day, per-symbol data is held column-major in typed arrays (one contiguous column per symbol), never as arrays
 * of objects: feature and correlation kernels walk a column at a time.
 */
import type { DocumentKind } from './resolved-config.js';

/** Days since 1970-01-01 UTC; the lakehouse and every matrix use this calendar unit. */
export type EpochDay = number;

export interface ReturnsMatrix {
  /** Ascending dates, one per row. */
  dates: Int32Array;
  symbols: string[];
  /** Column-major: `values[j * dates.length + t]` is symbol j's simple return on day t; NaN when missing. */
  values: Float64Array;
}

/** Daily bars aligned with a ReturnsMatrix (same dates and symbols, same column-major layout); NaN when missing. */
export interface PriceMatrix {
  dates: Int32Array;
  symbols: string[];
  close: Float64Array;
  open?: Float64Array;
  high?: Float64Array;
  low?: Float64Array;
  volume?: Float64Array;
}

/** Per-symbol factors: one Float64Array per factor, indexed like `symbols`. */
export interface FeatureTable {
  symbols: string[];
  names: string[];
  values: Record<string, Float64Array>;
}

/** One candidate from discovery (a scanner), with its metadata. */
export interface Candidate {
  symbol: string;
  exchange?: string;
  venue?: string;
  asset_type?: 'spot' | 'perp' | 'equity' | 'etf' | string;
  base?: string;
  quote?: string;
  sector?: string;
  market_cap_rank?: number;
  volume_24h?: number;
  metadata?: Record<string, unknown>;
}

/**
 * Why discovery left a symbol out, at the step that did: `reason` in words, and the step's own evidence (a liquidity
 * value and its floor, the exclusion rule, the twin identity dedup kept, a rank beyond the limit). `pipeline-run trace
 * <run> SYMBOL` reads it back from candidates.json.
 */
export interface DroppedSymbol {
  symbol: string;
  reason: string;
  /** liquidity: the 24h (or point-in-time mean) quote volume and the floor it missed. */
  value?: number;
  floor?: number;
  /** exclusions: which rule (`stablecoin`, `gold_token`, `pattern`) and, for a pattern, the expression. */
  rule?: 'stablecoin' | 'gold_token' | 'pattern';
  pattern?: string;
  /** identity_dedup: the shared identity and the listing kept instead. */
  identity?: string;
  kept?: string;
  /** limit: the symbol's place in the sort, and the limit. */
  rank?: number;
  limit?: number;
  /** venue / asset_types: where it is, or what it is. */
  venue?: string;
  asset_type?: string;
  /** fresh_at_as_of: its last bar on or before the decision date. */
  last_bar?: string;
}

/** One discovery step: how many candidates were left after it, and which were dropped by it, each with why. */
export interface FunnelStep {
  step: string;
  left: number;
  detail?: string;
  dropped?: DroppedSymbol[];
}

export interface Veto {
  filter: string;
  metric: string;
  value: number | string | null;
  threshold: number | string;
}

/** Context keys a document provides before any stage runs. */
export const DOCUMENT_PROVIDES: Record<DocumentKind, ContextKey[]> = {
  selection: ['run_id', 'params'],
  meta: ['run_id', 'params', 'sleeves'],
  tournament: ['run_id', 'params', 'matrix'],
};

/** A bar the data layer does not book as printed (src/lakehouse/toxic.ts): a spike, or the reversal that gives it back. */
export interface ToxicBar {
  symbol: string;
  date: EpochDay;
  kind: 'spike' | 'reversal';
  /** The raw close-to-close return. */
  value: number;
  /** What every reader books instead: NaN (nothing, held flat), or the return from the last good close. */
  booked: number;
}

/**
 * Where the run's bars come from (a read-only lakehouse handle): the backtest reads realised returns here. Returns
 * are cleaned by the same toxic-bar rule as the decisions' (`toxicThreshold`), so both book the same series.
 */
export interface MarketSource {
  venue: string;
  toxicThreshold: number;
  readReturns(req: { symbols: string[]; venue?: string; start?: number | string; end: number | string; lookbackDays?: number; allowEmpty?: boolean }): Promise<ReturnsMatrix>;
  /** The toxic bars of `symbols` inside [start, end] (what readReturns books differently from the raw prints). */
  readToxicBars(req: { symbols: string[]; start?: number | string; end: number | string; allowEmpty?: boolean }): Promise<ToxicBar[]>;
  /**
   * The backtest's calendar: every day any symbol of the venue has a bar, up to `end`. It depends on no decision
   * (not on who is a candidate at the as-of date), so appending data never moves an earlier rebalance.
   */
  calendar(end: number): Promise<Int32Array>;
  /** The asset type of a symbol on this venue (spot, perp, equity, etf), held now or in the past. */
  assetType(symbol: string): string | undefined;
  /**
   * Daily funding rates of perpetuals (a day's total, as a fraction of notional; long pays when positive) on the
   * union of the symbols' funding dates in [start, end], NaN where unknown; undefined when none has a series.
   */
  readFunding(req: { symbols: string[]; start: number; end: number }): Promise<ReturnsMatrix | undefined>;
  /**
   * Daily bars (open, close, volume as printed; a toxic spike bar is no bar: NaN) on the union of the symbols'
   * dates in [start, end]: what an order-level simulator fills at and caps participation by. `printed`: every bar as
   * printed, a spike's too (the toxic rule judges a day by its close, which its open does not know yet).
   */
  readBars(req: { symbols: string[]; start: number; end: number; allowEmpty?: boolean; printed?: boolean }): Promise<PriceMatrix>;
  /**
   * The days on which a symbol's bars hold a close alone, as inclusive [first, last] epoch-day spans, ascending (none:
   * every open was printed): a series stored from closes alone (a wide CSV, a CSV file of single prints, the older
   * days of one an exchange has added bars to since), whose stored open is the day's close, a price nobody knows at
   * the open.
   */
  closesAlone(symbol: string): ReadonlyArray<readonly [EpochDay, EpochDay]>;
  /** A symbol's trading rules from the symbols table, where it has them (lot size in units, minimum order notional). */
  tradingRules(symbol: string): { lot_size?: number; min_notional?: number };
}

export interface SelectionContext {
  kind: 'selection';
  run_id: string;
  params: Record<string, unknown>;
  /** As-of date of the decision (point in time): no stage may read a later day. */
  as_of?: EpochDay;
  raw_pool?: Candidate[];
  market?: MarketSource;
  returns?: ReturnsMatrix;
  /** OHLCV aligned with `returns`, when the source has bars (ADX and dollar volume need them). */
  prices?: PriceMatrix;
  features?: FeatureTable;
  /**
   * Conviction per ranker (higher is better), indexed like `symbols`, and the regime a regime-aware ranker read;
   * `champion` names the one decisions use (setChampion switches it, for a challenger's replay).
   */
  scores?: Record<string, { symbols: string[]; conviction: Float64Array; regime?: 'NORMAL' | 'TURBULENT' | 'CRISIS' }>;
  champion?: string;
  /** Market regime when a regime-aware ranker ran (allocation caps follow it). */
  regime?: 'NORMAL' | 'TURBULENT' | 'CRISIS';
  /** Flat clusters (labels 1..k, like scipy's fcluster) and the scipy-format linkage matrix. */
  clusters?: { labels: Int32Array; symbols: string[]; linkage?: Float64Array };
  winners?: string[];
  vetoes?: Record<string, Veto[]>;
  /** Strategy atoms `Asset_Logic_Direction` and their guarded return streams (columns in atom order). */
  atoms?: { id: string; symbol: string; logic: string; direction: 'LONG' | 'SHORT' }[];
  atom_returns?: ReturnsMatrix;
  /** Net physical weights: negative for a net short. */
  weights?: { symbol: string; weight: number; direction: 'LONG' | 'SHORT' }[];
  /** The walk-forward's record: what the run above reads (OutOfSampleRecord) and what the reporters show. */
  backtest?: BacktestRecord;
  report?: { files: string[] };
  /** Discovery's steps: how many candidates each left, and who it dropped and why (ingestion; the reports' funnel). */
  discovery_funnel?: FunnelStep[];
  /** Bad prints among the candidates' bars and what was booked instead (ingestion). */
  toxic_bars?: ToxicBar[];
  /** How the policy's winners got in: the HTR stage it ended at, each winner's way in, the strict vetoes it overrode. */
  htr?: HtrRecord;
  /** Constraints or inputs a stage changed by a declared rule instead of failing (`recordAdjustment`). */
  adjustments?: Adjustment[];
  /** The allocation engine that produced `weights` (a fallback shows here). */
  allocation_engine?: string;
  /** What the allocation stage wrote for its decision (its metrics.json block, atom weights): a replay hands it on. */
  allocation_record?: AllocationRecord;
  /**
   * Set when the decision is to hold cash, with why (a stage's `cashOn` error: a replayed decision's, or the run's
   * own as-of decision in a run with a backtest).
   */
  cash_reason?: string;
  /**
   * Values a plugin module's own stage provides under its own key (declared in its `provides`). The built-in stages
   * use none: what they hand on is a typed field above.
   */
  extra: Record<string, unknown>;
}

/** The policy's record of how its winners got in (ctx.htr; the reports read it). */
export interface HtrRecord {
  /** The HTR stage the policy ended at (1 strict, 2 relaxed, 3 representatives forced, 4 pool filled) and its name. */
  stage: number;
  stage_name: string;
  /** Each winner, how it got in, and the filters whose vetoes a relaxation stage overrode for it. */
  winners: { symbol: string; reason: string; overridden: string[] }[];
  /** The strict (stage 1) vetoes, when a later stage relaxed them. */
  strict_vetoes?: Record<string, Veto[]>;
}

/** What the allocation stage writes for a decision: its metrics.json block and atom weights. */
export interface AllocationRecord {
  metrics: Record<string, unknown>;
  atoms?: Record<string, unknown>[];
}

export function newSelectionContext(run_id: string, params: Record<string, unknown>): SelectionContext {
  return { kind: 'selection', run_id, params, extra: {} };
}

/**
 * A constraint or input a stage changed by a declared rule instead of failing (a cluster cap relaxed, risk budgets
 * renormalised over the names present): kept in `ctx.adjustments`, so a replayed decision (a backtest
 * window, quiet) still reports it.
 */
export interface Adjustment {
  stage: string;
  kind: string;
  [detail: string]: unknown;
}

export function recordAdjustment(ctx: { adjustments?: Adjustment[] }, a: Adjustment): void {
  ctx.adjustments = [...(ctx.adjustments ?? []), a];
}

/**
 * The same decision state with another ranker as champion (a challenger's replay): decisions after inference read
 * `champion` and `regime`, which follow the ranker. Shallow: later stages replace context fields, never edit them.
 */
export function withChampion(ctx: SelectionContext, key: string): SelectionContext {
  const s = ctx.scores?.[key];
  if (!s) throw new Error(`no scores for ranker '${key}'`);
  const out: SelectionContext = { ...ctx, champion: key, extra: { ...ctx.extra } };
  if (s.regime) out.regime = s.regime;
  else delete out.regime;
  return out;
}

/** A physical holding after flattening: net weight (negative for a net short) and where it came from. */
export interface FlatWeight {
  symbol: string;
  weight: number;
  direction: 'LONG' | 'SHORT';
  /** Contribution of each sleeve (meta weight × the sleeve's weight of the symbol). */
  sleeves: Record<string, number>;
}

/** The uncollapsed tree of meta weights at every level, for audit (cluster_tree.json). */
export interface TreeNode {
  name: string;
  kind: 'meta' | 'selection';
  /** Weight within the parent (the root has 1). */
  weight: number;
  children?: TreeNode[];
  /** A selection sleeve's physical weights. */
  holdings?: { symbol: string; weight: number }[];
  /** Why a sleeve holds nothing (vetoed, failed). */
  note?: string;
}

/** Physical weights decided on `date` and held from then on (until the next entry). */
export interface DatedHoldings {
  date: EpochDay;
  weights: { symbol: string; weight: number }[];
}

/**
 * What a selection pipeline's walk-forward leaves in `ctx.backtest` for the run above it (a meta reads a sleeve's
 * returns and its decisions through time, a tournament a cell's costs and band drift): the stage that provides
 * `backtest` writes at least this.
 */
export interface OutOfSampleRecord {
  /** Out-of-sample days and the portfolio's return on each. */
  dates: Int32Array;
  returns: Float64Array;
  /** Each rebalance: decided as of `as_of`, held to `end` (ISO dates). */
  windows: { as_of: string; end: string; weights: { symbol: string; weight: number }[] }[];
  metrics: OutOfSampleMetrics;
}

/** The figures of an out-of-sample record a run above reads. */
export interface OutOfSampleMetrics {
  periods_per_year: number;
  weights_as_of: string;
  liquidated?: boolean;
  turnover?: number;
  costs?: number;
  volatility_band?: { drift: number } | null;
}

/** One holding window of a walk-forward backtest (metrics.json's windows, the audit's `window` events). */
export interface BacktestWindow {
  window: number;
  as_of: string;
  start: string;
  end: string;
  holdings: number;
  winners: number | null;
  /** The allocation engine that produced this window's weights (a fallback shows here). */
  engine: string | null;
  turnover: number;
  cost: number;
  /** Borrow and funding paid over the window (sums of daily charges as fractions of that day's equity). */
  borrow: number;
  funding: number;
  return: number;
  liquidated: boolean;
  weights: { symbol: string; weight: number }[];
  /** Why the window holds cash (the policy let nothing through as of that date). */
  cash_reason?: string;
  /** Constraints the decision changed by a declared rule (a cluster cap relaxed, risk budgets renormalised). */
  adjustments?: Adjustment[];
  /** Bad prints of held names in the window, and what was booked instead (src/lakehouse/toxic.ts). */
  toxic_bars?: { symbol: string; date: string; kind: 'spike' | 'reversal'; value: number; booked: number | null }[];
  /** Orders of the window an order-level simulator could not complete (orders.arrow says why). */
  unfilled?: number;
  /** The market regime the decision read, and which ranker read it. */
  regime?: string;
  regime_by?: string;
}

/** The backtest's metrics.json block (docs/backtest.md): the figures other code reads are named, the rest kept. */
export interface BacktestMetrics extends OutOfSampleMetrics {
  risk_free_rate?: number;
  /** The benchmark's own figures, and the portfolio's against it (src/math/metrics.ts `benchmarkRelative`). */
  benchmark?: ({ symbol: string; relative?: { beta: number; alpha: number; correlation: number; tracking_error: number; information_ratio: number } } & Record<string, unknown>) | null;
  carry?: { borrow: number; funding: number; per_year: number };
  volatility_band?: { engine: string; band: number; realised: number; drift: number; limit?: number; flagged: boolean } | null;
  verification?: { metric: string; agrees: boolean }[];
  /** False when past decisions drew from a universe chosen with later knowledge; `universe_caveats` say why. */
  universe_point_in_time?: boolean;
  universe_caveats?: string[];
  /** Decisions that held cash (a window with a cash_reason), and how many for each reason. */
  cash_windows?: number;
  cash_reasons?: Record<string, number>;
  /** The book held over each day (start-of-day drifted weights, every day of the record): stages/backtest/exposure.ts. */
  realised_gross_exposure?: { max: number; max_date: string; mean: number };
  realised_net_exposure?: { min: number; min_date: string; max: number; max_date: string; mean: number };
  /** Decisions holding fewer names than the policy's min_winners, and the record from when none does (stages/backtest/holdings-floor.ts). */
  min_winners_floor?: MinWinnersFloor;
  [figure: string]: unknown;
}

/** metrics.json's `min_winners_floor`: the policy's floor of names against what each decision held. */
export interface MinWinnersFloor {
  floor: number;
  windows_below: number;
  last_below_as_of: string | null;
  met_from: string | null;
  since_met: { first: string; last: string; days: number; total_return: number; cagr: number; volatility: number; sharpe: number; max_drawdown: number } | null;
}

/** One ranker's record when the backtest re-made every decision with each ranker as champion (challengers.json). */
export interface RankerRecord {
  role: string;
  metrics: Record<string, unknown> & { carry?: { total: number }; sharpe?: number };
  [field: string]: unknown;
}

/** A parity check's figures for one simulator (parity.json). */
export interface ParityMetrics {
  sharpe: number;
  cagr: number;
  max_drawdown: number;
  total_return: number;
  turnover: number;
  costs: number;
  carry: { total: number };
}

/** The same decisions held by two simulators (the backtest's `parity`, parity.json's record). */
export interface BacktestParity {
  simulator: string;
  reference: string;
  returns: Record<string, Float64Array>;
  record: {
    settings: Record<string, unknown>;
    metrics: Record<string, ParityMetrics>;
    differences: Record<'sharpe' | 'cagr' | 'max_drawdown' | 'total_return' | 'turnover' | 'costs' | 'carry', number>;
    tracking_error: number;
    largest_equity_gap: { date: string; relative: number } | null;
    /** Fills at an open and at a close (a next-open order on closes alone, or on an open not trusted, fills at a close). */
    fills: { at_open: number; at_close: number };
    unfilled: { orders: number; of: number; by_reason: Record<string, number> };
  };
}

/** What the backtest stage leaves in `ctx.backtest`: the out-of-sample record and what the reports show of it. */
export interface BacktestRecord extends OutOfSampleRecord {
  /** The benchmark's returns on the same days, when one is set. */
  benchmark?: Float64Array;
  windows: BacktestWindow[];
  metrics: BacktestMetrics;
  /** Each ranker as champion: its record and returns (when the inference stage has challengers). */
  challengers?: { champion: string; rankers: Record<string, RankerRecord>; returns: Record<string, Float64Array> };
  parity?: BacktestParity;
}

/** What a sleeve contributes to its meta pipeline. */
export interface SleeveResult {
  name: string;
  kind: 'selection' | 'meta';
  /** Out-of-sample daily returns (the walk-forward backtest's, or the child meta's own walk-forward ones). */
  dates: Int32Array;
  returns: Float64Array;
  /** Physical weights decided as of the sleeve's last day (a child meta's are already flattened). */
  weights: { symbol: string; weight: number; direction: 'LONG' | 'SHORT' }[];
  /**
   * The sleeve's physical weights through time, ascending: each of its decisions (a selection sleeve's rebalances and
   * the days its book is sold; a meta's flattened tree at every change below it). Its weights as of d are the last
   * entry dated on or before d (none: it holds nothing yet).
   */
  holdings: DatedHoldings[];
  /** A meta sleeve's tree as of its last day, and through time (on the dates of `holdings`). */
  tree?: TreeNode;
  trees?: { date: EpochDay; tree: TreeNode }[];
  periods_per_year: number;
  /** The sleeve's run folder (relative to the meta run for a fresh run; absolute for a cache hit). */
  run: string;
  cached: boolean;
  /** The sleeve's record went to zero (from its -100% day on it holds nothing). */
  liquidated?: boolean;
  /** The data identity its run recorded (the manifest's data_hash) and how many registry entries it covers. */
  data_hash?: string | null;
  data_inputs?: number;
  /** What its run reports beside the returns (a tournament compares cells on it). */
  record?: RunRecord;
}

/** A run's trading record over its whole out-of-sample period, as its metrics.json reports it. */
export interface RunRecord {
  /** Mean turnover per rebalance (a meta's: per meta rebalance, of its sleeve weights). */
  turnover: number | null;
  /** Total trading costs charged, as a fraction of equity summed over the rebalances. */
  costs: number | null;
  /** Realised annual volatility less the engine's volatility band (selection backtests with a banded engine). */
  volatility_band_drift: number | null;
  /** Rebalances in the walk-forward. */
  rebalances: number | null;
  /**
   * Whether every past decision drew from the universe as it was then (a selection backtest's
   * `universe_point_in_time`; a meta's: every sleeve's); null when not known (a record written before it was kept).
   */
  point_in_time?: boolean | null;
  /**
   * The run's own headline figures and the basis they were computed on (its metrics.json): a tournament compares
   * its cells on a basis of its own and says where a cell's differs. Absent in a record cached before they were kept.
   */
  own?: RunFigures;
  /** A selection backtest's decisions in order: how many names each picked and held (a meta's: absent). */
  windows?: RunWindow[];
}

/** A run's own Sharpe ratio and CAGR over its own out-of-sample record, and the basis of both. */
export interface RunFigures {
  days: number;
  first: string | null;
  last: string | null;
  sharpe: number | null;
  cagr: number | null;
  /** The annual risk-free rate its Sharpe ratio is in excess of (a meta's metrics: 0). */
  risk_free_rate: number;
  periods_per_year: number;
}

/** One decision of a walk-forward backtest, as the tournament reads it (BacktestWindow, reduced). */
export interface RunWindow {
  as_of: string;
  /** Names the policy let through (null when the decision held cash) and names held. */
  winners: number | null;
  holdings: number;
  cash_reason?: string;
}

/** One cell of a tournament as it ran (or came from the cache). */
export interface CellOutcome {
  id: string;
  overrides: Record<string, unknown>;
  config_hash: string;
  outcome: 'succeeded' | 'failed';
  /** Its run folder (relative to the tournament's run for a fresh run; absolute for a cache hit); null when none was made. */
  run: string | null;
  cached: boolean;
  data_hash: string | null;
  /** Its result cache key (content identity), when its data could be identified before it ran. */
  key?: string;
  error?: { code: string; message: string; stage: string | null };
  result?: SleeveResult;
}

export interface TournamentContext {
  kind: 'tournament';
  run_id: string;
  params: Record<string, unknown>;
  cells?: CellOutcome[];
  /** What tournament_compare computed: tournament.json, and the aligned returns it was computed on. */
  comparison?: { json: Comparison; dates: Int32Array; ids: string[]; values: Float64Array; key?: string };
  /** The files the report stage wrote. */
  report?: { files: string[] };
  /** Values a plugin module's own stage provides under its own key; the built-in stages use none. */
  extra: Record<string, unknown>;
}

/** One cell in tournament.json (docs/tournaments.md). Statistics are null for a cell that failed. */
export interface CellComparison {
  id: string;
  overrides: Record<string, unknown>;
  config_hash: string;
  run: string | null;
  outcome: 'succeeded' | 'failed';
  error?: { code: string; message: string; stage: string | null };
  /** 1 = the best annualised Sharpe ratio on the common calendar. */
  rank: number | null;
  metrics: {
    days: number;
    cagr: number;
    sharpe: number;
    sortino: number;
    max_drawdown: number;
    calmar: number;
    volatility: number;
    total_return: number;
    turnover: number | null;
    costs: number | null;
    volatility_band_drift: number | null;
  } | null;
  intervals: { sharpe: [number, number]; cagr: [number, number]; max_drawdown: [number, number] } | null;
  psr: number | null;
  dsr: number | null;
  p_beats_champion: number | null;
  /** Whether the cell's past decisions drew from the universe as it was then (RunRecord.point_in_time); null: not known. */
  point_in_time: boolean | null;
  /** The cell's own Sharpe ratio and CAGR over its own record, and their basis (its metrics.json); null: not known. */
  own_record: RunFigures | null;
  /** What of `own_record`'s basis is not the tournament's (`basis`): its figures and the tournament's then differ. */
  basis_differs: ('risk_free_rate' | 'periods_per_year')[];
  /** Ledoit–Wolf test of this cell's Sharpe ratio against the champion's (delta per period). */
  /** `p_holm`: p adjusted by Holm's step-down over every cell tested against the champion (absent for the champion). */
  sharpe_test: { delta: number; se: number; z: number; p: number; p_holm?: number } | null;
}

/** tournament.json (docs/tournaments.md). */
export interface Comparison {
  name: string;
  base: { file: string; kind: 'selection' | 'meta'; config_hash: string };
  champion: string;
  periods_per_year: number;
  /** What every statistic is computed on, for every cell alike (whatever a cell's own backtest used). */
  basis: { returns: 'simple'; risk_free_rate: 0; periods_per_year: number; periods_per_year_rule: string };
  /**
   * The calendar every statistic is computed on: the days every succeeded cell has an out-of-sample return, from
   * `start` (the statistics' `start`, null when not set) on.
   */
  calendar: { first: string | null; last: string | null; days: number; start: string | null };
  /** Where the cells' decisions picked fewer names than their policy's floor at the start of the calendar; null: no cell has a floor. */
  holdings_floor: HoldingsFloor | null;
  bootstrap: { method: 'stationary'; block_length: number; block_length_rule: string; resamples: number; seed: number; confidence: number };
  sharpe_test: { method: 'ledoit_wolf_hac'; kernel: 'parzen'; prewhitening: boolean; against: string };
  deflation: { trials: number; sharpe_variance: number; threshold_sharpe: number };
  /** `left_out`: the cells whose returns never vary on the calendar (no Sharpe ratio to rank), not in CSCV. */
  /** `same_as`: cells whose returns equal an earlier cell's on every day of the calendar (one series in CSCV), → that cell. */
  pbo: { value: number | null; blocks: number; splits: number; dropped_days: number; logits: number[]; left_out?: string[]; same_as?: Record<string, string>; reason?: string };
  cells: CellComparison[];
}

/**
 * The start of the compared calendar against the policy's floor (min_winners): per cell with a floor, the decisions
 * in effect from the calendar's first day that picked fewer names than it, and the first compared day after the
 * first decision that picked at least it. Read from the cells' decisions alone, never from their returns.
 */
export interface HoldingsFloor {
  /** The first compared day from which every cell with a floor holds a decision that met it; null when one never does. */
  full_from: string | null;
  cells: {
    id: string;
    floor: number;
    /** Decisions in effect from the calendar's first day on that picked fewer names than the floor, before the first that did not. */
    thin_decisions: number;
    /** The fewest and most names those decisions picked (null when none). */
    names: [number, number] | null;
    /** The last compared day one of them was in effect (null when none). */
    thin_until: string | null;
    /** The first compared day after the first decision that met the floor (the calendar's first day when none was thin; null: none ever did). */
    full_from: string | null;
  }[];
}

export function newTournamentContext(run_id: string): TournamentContext {
  return { kind: 'tournament', run_id, params: {}, extra: {} };
}

/** One meta rebalance: the decision on the sleeves' out-of-sample returns up to `as_of`, and how it was held. */
export interface MetaRebalance {
  as_of: EpochDay;
  /** The holding period (the days after as_of it was held); absent for the final decision at the as-of date. */
  start?: EpochDay;
  end?: EpochDay;
  /** Target meta weight per sleeve (0 for a sleeve not eligible then). */
  weights: Record<string, number>;
  engine: string;
  /** Why the equal-weight proxy stands in, or why the meta holds cash; engines that failed before the one used. */
  proxy_reason?: string;
  attempts?: { engine: string; error: string }[];
  cash_reason?: string;
  /** Sleeves left out of this decision, and why (too few returns in the window, liquidated). */
  excluded: Record<string, string>;
  /** Σ |target − drifted meta weight| and the physical traded notional it flattens to (fractions of equity). */
  turnover: number;
  physical_turnover: number;
  cost: number;
  /** Compounded return of the holding period (net of costs), and whether the meta's equity reached zero in it. */
  return: number;
  liquidated: boolean;
  /** The book is sold at `end` (test_window < step_size): that trade, flattened, is charged too. */
  exit_turnover?: number;
}

export interface MetaContext {
  kind: 'meta';
  run_id: string;
  params: Record<string, unknown>;
  sleeves: import('./resolved-config.js').ResolvedSleeve[];
  sleeve_results?: Record<string, SleeveResult>;
  /** Aligned out-of-sample returns of the healthy sleeves: dates × sleeves, column-major. */
  sleeve_returns?: ReturnsMatrix;
  /**
   * Per sleeve and row of `sleeve_returns` (column-major): 1 where the row is a day of the sleeve's own calendar (a day
   * of its record or one its calendar trades), the rows the health gate counts; 0 where its market is closed.
   */
  sleeve_calendar?: Uint8Array;
  sleeve_weights?: Record<string, SleeveResult['weights']>;
  /** Sleeves left out, and why (health gate, failed run). */
  vetoed_sleeves?: Record<string, string>;
  /** Least share of a rebalance's train window a sleeve must have returns on to be allocated (meta_returns' gate). */
  health_threshold?: number;
  /** The final meta decision, as of `as_of` (the last day of the sleeves' common calendar). */
  meta_weights?: Record<string, number>;
  as_of?: EpochDay;
  /** The meta's out-of-sample daily returns: the chained held results of every meta rebalance. */
  meta_returns?: { dates: Int32Array; returns: Float64Array };
  /** Every meta rebalance in order, the final decision last. */
  meta_rebalances?: MetaRebalance[];
  /** The meta's equity reached zero in its walk-forward. */
  meta_liquidated?: boolean;
  cluster_tree?: TreeNode;
  /** The tree and physical weights through time (every change at any level below), for a parent meta. */
  tree_history?: { date: EpochDay; tree: TreeNode; weights: { symbol: string; weight: number }[] }[];
  flattened_weights?: FlatWeight[];
  periods_per_year?: number;
  /** The engine of the final meta decision (a fallback shows here). */
  meta_engine?: string;
  /** meta_optimize's metrics.json block (the final decision, its engine and the walk-forward's settings). */
  meta_allocation?: MetaAllocationRecord;
  /** meta_flatten's metrics.json block (`meta`): the walk-forward's figures, turnover, costs, the final weights. */
  meta_metrics?: MetaMetrics;
  /** The files the report stage wrote. */
  report?: { files: string[] };
  /** Values a plugin module's own stage provides under its own key; the built-in stages use none. */
  extra: Record<string, unknown>;
}

/** meta_optimize's metrics.json block. */
export interface MetaAllocationRecord {
  as_of: string;
  engine: string;
  requested_engine: string;
  [field: string]: unknown;
}

/** meta_flatten's metrics.json block (`meta`): what a parent meta and the reports read is named, the rest kept. */
export interface MetaMetrics {
  periods_per_year: number;
  first: string | null;
  last: string | null;
  engine?: string;
  rebalances: number;
  turnover: number;
  costs: number;
  verification?: { metric: string; agrees: boolean }[];
  [figure: string]: unknown;
}

/** Any context a pipeline runs on. */
export type AnyContext = SelectionContext | MetaContext | TournamentContext;

/**
 * A context key a stage may `require` or `provide` (StageMeta): a field of one of the contexts, or `matrix` (a
 * tournament's, which its document carries). A plugin module's own keys (kept under `extra`) are checked by name at
 * validation only.
 */
export type ContextKey = Exclude<keyof SelectionContext | keyof MetaContext | keyof TournamentContext, 'kind' | 'extra'> | 'matrix';

export function newMetaContext(run_id: string, sleeves: MetaContext['sleeves']): MetaContext {
  return { kind: 'meta', run_id, params: {}, sleeves, extra: {} };
}

/**
 * Exclusive end row of the returns that may be read: rows dated after ctx.as_of are never read (the ingestion
 * stage already stops there; a stage must not look beyond it anyway).
 */
export function asOfEnd(returns: ReturnsMatrix, asOf: number | undefined): number {
  const T = returns.dates.length;
  if (asOf === undefined) return T;
  let end = T;
  while (end > 0 && returns.dates[end - 1]! > asOf) end--;
  return end;
}
