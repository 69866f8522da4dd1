/**
 * Backtest: walk-forward and point in time. At each rebalance the decision stages before this one run again
 * (env.replay) on data up to that day only, over the last `train_window` days; the weights they decide are held
 * for the next `test_window` days (until the next rebalance, `step_size` days later; when test_window <
 * step_size the book is sold at the end of the holding period, that trade charged, and the days until the next
 * decision are cash). A date on which the policy lets nothing through is a decision to hold cash (the window's
 * `cash_reason` says so), not a failed backtest. Weights drift with prices, costs are charged on traded notional, a window whose equity
 * reaches zero is liquidated and stays at zero, and returns compound time-weighted. Metrics come from
 * src/math/metrics.ts and are verified by a second route. weights.json is a final decision at the as-of date by
 * the same rule (metrics.json says `weights_as_of`).
 */
import type { SelectionContext, ToxicBar } from '../../src/core/context.js';
import { inputError, runError } from '../../src/core/errors.js';
import { int, num, params, pluginRef, str } from '../../src/core/params.js';
import type { PluginRef, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { isoFromDay } from '../../src/lakehouse/dates.js';
import { computeMetrics, drawdownSeries, equityCurve, verifyMetrics } from '../../src/math/metrics.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { periodsPerYearFor } from '../features/feature-engineering.stage.js';
import type { HoldingResult, Simulator } from './simulator.js';
import { defaultThreads } from '../../src/exec/replay-pool.js';

/** Expected annual volatility ceilings by engine (seed volatility bands); realised drift above 0.25 is flagged. */
export const VOLATILITY_BANDS: Record<string, number> = { min_variance: 0.35, hrp: 0.45, equal_weight: 0.6, max_sharpe: 0.9 };
export const BAND_DRIFT_LIMIT = 0.25;

interface WindowRecord {
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
  return: number;
  liquidated: boolean;
  weights: { symbol: string; weight: number }[];
  /** Why the window holds cash (the policy let nothing through as of that date). */
  cash_reason?: string;
  /** Bad prints of held names in the window, and what was booked instead (src/lakehouse/toxic.ts). */
  toxic_bars?: { symbol: string; date: string; kind: 'spike' | 'reversal'; value: number; booked: number | null }[];
}

export class BacktestStage implements Stage<SelectionContext> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'backtest',
    description: 'Walk-forward, point-in-time backtest of the decision stages before it, with drift and costs.',
    documents: ['selection'],
    requires: ['weights'],
    provides: ['backtest'],
    params: params({
      train_window: int('Days of history each decision sees.', 252, { min: 2 }),
      test_window: int('Days each set of weights is held.', 20, { min: 1 }),
      step_size: int('Days between rebalances.', 20, { min: 1 }),
      slippage_bps: num('Slippage on traded notional, basis points.', 5, { min: 0 }),
      commission_bps: num('Commission on traded notional, basis points.', 1, { min: 0 }),
      benchmark: str('Benchmark symbol (same venue) for the report.'),
      risk_free_rate: num('Annual risk-free rate for Sharpe and Sortino.', 0),
      simulator: pluginRef('simulator', 'How holdings are simulated between rebalances.', 'vectorized'),
      periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
      workers: int('Threads deciding windows in parallel (windows are independent); one per core, at least 4 windows each, when omitted. 1 decides them in process.', undefined, { min: 1 }),
    }),
  };

  async execute(ctx: SelectionContext, p: Record<string, unknown>, env: StageEnv): Promise<SelectionContext> {
    const market = ctx.market;
    if (!market || ctx.as_of === undefined || !ctx.raw_pool) throw runError('BACKTEST_NO_MARKET', 'the backtest needs the market the ingestion stage opened; put ingestion first');
    const train = p.train_window as number;
    const test = p.test_window as number;
    const step = p.step_size as number;
    const costRate = ((p.slippage_bps as number) + (p.commission_bps as number)) / 10_000;
    const rf = (p.risk_free_rate as number | undefined) ?? 0;
    const ppy = (p.periods_per_year as number | undefined) ?? periodsPerYearFor(ctx.raw_pool[0]);
    const simRef = p.simulator as PluginRef;
    const simulator = env.plugins.get<Simulator>('simulator', simRef.name);

    // The calendar: every day of the candidates' data up to the run's as-of date.
    const calendar = (await market.readReturns({ symbols: ctx.raw_pool.map((c) => c.symbol), end: ctx.as_of })).dates;
    const T = calendar.length;
    if (T < train + 2)
      throw inputError('BACKTEST_TOO_SHORT', `the data has ${T} days up to ${isoFromDay(ctx.as_of)}; train_window ${train} leaves nothing to test`, 'Lower train_window (a profile such as development does) or load more history.');
    const benchmark = p.benchmark as string | undefined;
    const rebalances: number[] = [];
    for (let t = train - 1; t < T - 1; t += step) rebalances.push(t);

    const dates: number[] = [];
    const daily: number[] = [];
    const windows: WindowRecord[] = [];
    const weightRows: { date: number; symbol: string; weight: number }[] = [];
    let held = new Map<string, number>();
    let dead = false;
    // Every decision first (independent: in parallel when there are cores for it), then the holding path in order.
    env.progress('backtest windows', 0, rebalances.length);
    // Workers pay a start-up (modules, re-staging the market): worth it only when the decisions are heavy. The
    // decision stages' time in this run (ingestion aside: replays reuse its scan) estimates one replay.
    const idx = env.pipeline.stages.findIndex((s) => s.type === 'backtest');
    const perDecision = env.pipeline.stages.slice(1, idx).reduce((a, s) => a + (s.ms ?? 0), 0);
    const threads = (p.workers as number | undefined) ?? (perDecision * rebalances.length > 4000 ? defaultThreads(rebalances.length) : 1);
    // One more decision at the as-of date itself (nothing left to hold): the run's weights.json, made by the same
    // point-in-time rule as every rebalance, and dated.
    const asOfFinal = calendar[T - 1];
    const all = await env.replayMany([...rebalances.map((t) => calendar[t]), asOfFinal], { lookbackDays: train, threads, onProgress: (done) => env.progress('backtest windows', Math.min(done, rebalances.length), rebalances.length) });
    const decisions = all.slice(0, rebalances.length);
    const finalDecision = all[rebalances.length];
    if (finalDecision.lastSeen !== null && finalDecision.lastSeen > asOfFinal) throw runError('LOOKAHEAD', `the final decision as of ${isoFromDay(asOfFinal)} saw ${isoFromDay(finalDecision.lastSeen)}`);
    for (let k = 0; k < rebalances.length; k++) {
      const t = rebalances[k];
      const asOf = calendar[t];
      const lastDay = Math.min(t + test, k + 1 < rebalances.length ? rebalances[k + 1] : T - 1, T - 1);
      const nextDecision = k + 1 < rebalances.length ? rebalances[k + 1] : T - 1;
      const decided = decisions[k];
      if (decided.lastSeen !== null && decided.lastSeen > asOf) throw runError('LOOKAHEAD', `window ${k}: a decision as of ${isoFromDay(asOf)} saw ${isoFromDay(decided.lastSeen)}`);
      const weights = decided.weights.filter((w) => w.weight !== 0);
      const symbols = [...new Set([...weights.map((w) => w.symbol), ...held.keys()])].sort();
      const target = Float64Array.from(symbols, (s) => weights.find((w) => w.symbol === s)?.weight ?? 0);
      const current = Float64Array.from(symbols, (s) => held.get(s) ?? 0);
      // Realised returns of the window, read after the decision: the decision never saw them.
      const windowDates = calendar.subarray(t + 1, lastDay + 1);
      let realised: Float64Array = new Float64Array(0);
      let toxic: ToxicBar[] = [];
      if (symbols.length && windowDates.length) {
        // A held symbol delisted before or during the window has no bars there: its price stays where it was.
        const r = await market.readReturns({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true }).catch((err) => {
          if ((err as { code?: string }).code === 'LAKEHOUSE_MISSING_DATA') return undefined; // none of them has a bar
          throw err;
        });
        realised = r ? alignColumns(r.dates, r.symbols, r.values, windowDates, symbols) : new Float64Array(symbols.length * windowDates.length).fill(NaN);
        // Bad prints in the held names: booked as the decisions saw them (the same toxic-bar rule), and recorded.
        if (r) toxic = await market.readToxicBars({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true });
      }
      const result: HoldingResult = dead
        ? { returns: new Float64Array(windowDates.length), end: new Float64Array(symbols.length), turnover: 0, cost: 0, liquidated: true }
        : simulator.hold({ dates: windowDates, symbols, returns: realised, target, current, costRate });
      dead = dead || result.liquidated;
      // When the holding period ends before the next decision (test_window < step_size), the book is sold at
      // its end: that trade is charged too, on the last held day, and the days until the next decision are cash.
      const exits = lastDay < nextDecision && !dead && windowDates.length > 0;
      let exitTurnover = 0;
      if (exits) {
        for (let j = 0; j < symbols.length; j++) exitTurnover += Math.abs(result.end[j]);
        const L = windowDates.length - 1;
        result.returns[L] = (1 + result.returns[L]) * (1 - exitTurnover * costRate) - 1;
      }
      for (let i = 0; i < windowDates.length; i++) {
        dates.push(windowDates[i]);
        daily.push(result.returns[i]);
      }
      for (let i = lastDay + 1; i <= nextDecision && i < T; i++) {
        dates.push(calendar[i]);
        daily.push(0);
      }
      held = new Map(symbols.map((s, j) => [s, lastDay < nextDecision ? 0 : result.end[j]] as const).filter(([, w]) => w !== 0));
      for (const w of weights) weightRows.push({ date: asOf, symbol: w.symbol, weight: w.weight });
      const record: WindowRecord = {
        window: k,
        as_of: isoFromDay(asOf),
        start: windowDates.length ? isoFromDay(windowDates[0]) : isoFromDay(asOf),
        end: windowDates.length ? isoFromDay(windowDates[windowDates.length - 1]) : isoFromDay(asOf),
        holdings: weights.length,
        winners: decided.winners,
        engine: decided.engine,
        turnover: result.turnover + exitTurnover,
        cost: result.cost + exitTurnover * costRate,
        return: result.returns.reduce((g: number, x: number) => g * (1 + x), 1) - 1,
        liquidated: result.liquidated,
        weights: weights.map((w) => ({ symbol: w.symbol, weight: w.weight })),
        ...(decided.cash_reason ? { cash_reason: decided.cash_reason } : {}),
        ...(toxic.length ? { toxic_bars: toxic.map((b) => ({ symbol: b.symbol, date: isoFromDay(b.date), kind: b.kind, value: b.value, booked: Number.isFinite(b.booked) ? b.booked : null })) } : {}),
      };
      for (const b of record.toxic_bars ?? []) env.audit.event('backtest', 'toxic_bar', { window: k, ...b, threshold: market.toxicThreshold });
      windows.push(record);
      env.audit.event('backtest', 'window', record);
    }

    const r = Float64Array.from(daily);
    const d = Int32Array.from(dates);
    let bench: Float64Array | undefined;
    if (benchmark) {
      const b = await market.readReturns({ symbols: [benchmark], start: d[0], end: d[d.length - 1] });
      bench = alignColumns(b.dates, b.symbols, b.values, d, [benchmark]).map((x) => (Number.isFinite(x) ? x : 0));
    }
    const metrics = computeMetrics(r, ppy, rf);
    const verification = verifyMetrics(r, ppy, rf);
    for (const v of verification) if (!v.agrees) env.audit.event('backtest', 'verification_disagreement', v);
    const engine = engineOf(env);
    // Live scanners only know today's tickers: every past decision then starts from today's universe.
    const stages = (env.pipeline.config as { stages?: { type: string; params: Record<string, unknown> }[] }).stages ?? [];
    const scannerName = (stages.find((st) => st.type === 'ingestion')?.params.scanner as PluginRef | undefined)?.name;
    const pointInTime = !['ccxt', 'tradingview'].includes(String(scannerName));
    if (!pointInTime) env.audit.event('backtest', 'universe_not_point_in_time', { scanner: scannerName, note: "a live scanner's universe is today's: past decisions are survivorship-biased" });
    const band = engine !== undefined ? VOLATILITY_BANDS[engine] : undefined;
    const turnovers = windows.map((w) => w.turnover);
    const last = finalDecision.weights;
    const summary = {
      periods_per_year: ppy,
      windows: windows.length,
      first: isoFromDay(d[0]),
      last: isoFromDay(d[d.length - 1]),
      ...metrics,
      turnover: turnovers.reduce((a, b) => a + b, 0) / Math.max(1, turnovers.length),
      weights_as_of: isoFromDay(asOfFinal),
      universe_point_in_time: pointInTime,
      risk_free_rate: rf,
      engines: windows.reduce<Record<string, number>>((acc, w) => (w.engine ? { ...acc, [w.engine]: (acc[w.engine] ?? 0) + 1 } : acc), {}),
      costs: windows.reduce((a, w) => a + w.cost, 0),
      gross_exposure: last.reduce((a, w) => a + Math.abs(w.weight), 0),
      net_exposure: last.reduce((a, w) => a + w.weight, 0),
      liquidated: dead,
      benchmark: bench ? { symbol: benchmark, ...computeMetrics(bench, ppy, rf) } : null,
      verification,
      volatility_band: band === undefined ? null : { engine, band, realised: metrics.volatility, drift: metrics.volatility - band, flagged: metrics.volatility - band > BAND_DRIFT_LIMIT },
    };
    if (summary.volatility_band?.flagged) env.audit.event('backtest', 'volatility_band_drift', summary.volatility_band);

    const eq = equityCurve(r);
    await env.artifacts.writeBytes('returns.arrow', await encodeColumns({ date: { kind: 'date', values: d }, return: { kind: 'float', values: r }, ...(bench ? { benchmark: { kind: 'float', values: bench } } : {}) }));
    await env.artifacts.writeBytes('equity.arrow', await encodeColumns({ date: { kind: 'date', values: d }, equity: { kind: 'float', values: eq }, drawdown: { kind: 'float', values: drawdownSeries(r) }, ...(bench ? { benchmark_equity: { kind: 'float', values: equityCurve(bench) } } : {}) }));
    await env.artifacts.writeBytes('weights.arrow', await encodeColumns({
      date: { kind: 'date', values: Int32Array.from(weightRows, (w) => w.date) },
      symbol: { kind: 'string', values: weightRows.map((w) => w.symbol) },
      weight: { kind: 'float', values: Float64Array.from(weightRows, (w) => w.weight) },
    }));
    await env.artifacts.writeJsonSection('metrics.json', 'backtest', summary);
    await env.artifacts.writeJson('weights.json', last);
    ctx.weights = last;
    ctx.backtest = { dates: d, returns: r, benchmark: bench, windows, metrics: summary };
    env.log(`backtest: ${windows.length} windows, ${isoFromDay(d[0])} to ${isoFromDay(d[d.length - 1])}, CAGR ${(metrics.cagr * 100).toFixed(1)}%, Sharpe ${metrics.sharpe.toFixed(2)}, max drawdown ${(metrics.max_drawdown * 100).toFixed(1)}%`);
    return ctx;
  }
}

/** Picks `symbols` columns on the `dates` axis out of a column-major matrix on another axis (NaN where absent). */
function alignColumns(srcDates: Int32Array, srcSymbols: string[], values: Float64Array, dates: Int32Array, symbols: string[]): Float64Array {
  const T = dates.length;
  const S = srcDates.length;
  const out = new Float64Array(symbols.length * T).fill(NaN);
  const row = new Map<number, number>();
  srcDates.forEach((d, i) => row.set(d, i));
  symbols.forEach((s, j) => {
    const c = srcSymbols.indexOf(s);
    if (c < 0) return;
    for (let t = 0; t < T; t++) {
      const i = row.get(dates[t]);
      if (i !== undefined) out[j * T + t] = values[c * S + i];
    }
  });
  return out;
}

/** The allocation engine named in the pipeline (for the volatility band), if any. */
function engineOf(env: StageEnv): string | undefined {
  const stages = (env.pipeline.config as { stages?: { type: string; params: Record<string, unknown> }[] }).stages ?? [];
  const alloc = stages.find((s) => s.type === 'allocation');
  return (alloc?.params.engine as PluginRef | undefined)?.name;
}
