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

export interface Veto {
  filter: string;
  metric: string;
  value: number | string | null;
  threshold: number | string;
}

/** Context keys a document provides before any stage runs. */
export const DOCUMENT_PROVIDES: Record<DocumentKind, string[]> = {
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
   * dates in [start, end]: what an order-level simulator fills at and caps participation by.
   */
  readBars(req: { symbols: string[]; start: number; end: number; allowEmpty?: boolean }): Promise<PriceMatrix>;
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
  /** The walk-forward's record; at least an OutOfSampleRecord (what the run above reads), the backtest stage adds more. */
  backtest?: unknown;
  report?: { files: string[] };
  /** Free-form values a plugin stage provides under its own key (declared in its `provides`). */
  extra: Record<string, unknown>;
}

export function newSelectionContext(run_id: string, params: Record<string, unknown>): SelectionContext {
  return { kind: 'selection', run_id, params, extra: {} };
}

/**
 * A constraint or input a stage changed by a declared rule instead of failing (a cluster cap relaxed, risk budgets
 * renormalised over the names present): kept in `ctx.extra.adjustments`, so a replayed decision (a backtest
 * window, quiet) still reports it.
 */
export interface Adjustment {
  stage: string;
  kind: string;
  [detail: string]: unknown;
}

export function recordAdjustment(ctx: { extra: Record<string, unknown> }, a: Adjustment): void {
  ctx.extra.adjustments = [...((ctx.extra.adjustments as Adjustment[] | undefined) ?? []), a];
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
  metrics: { periods_per_year: number; weights_as_of: string; liquidated?: boolean; turnover?: number; costs?: number; volatility_band?: { drift: number } | null };
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
  /** Ledoit–Wolf test of this cell's Sharpe ratio against the champion's (delta per period). */
  sharpe_test: { delta: number; se: number; z: number; p: number } | null;
}

/** tournament.json (docs/tournaments.md). */
export interface Comparison {
  name: string;
  base: { file: string; kind: 'selection' | 'meta'; config_hash: string };
  champion: string;
  periods_per_year: number;
  /** The calendar every statistic is computed on: the days every succeeded cell has an out-of-sample return. */
  calendar: { first: string | null; last: string | null; days: number };
  bootstrap: { method: 'stationary'; block_length: number; block_length_rule: string; resamples: number; seed: number; confidence: number };
  sharpe_test: { method: 'ledoit_wolf_hac'; kernel: 'parzen'; prewhitening: boolean; against: string };
  deflation: { trials: number; sharpe_variance: number; threshold_sharpe: number };
  pbo: { value: number | null; blocks: number; splits: number; dropped_days: number; logits: number[]; reason?: string };
  cells: CellComparison[];
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
  extra: Record<string, unknown>;
}

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
