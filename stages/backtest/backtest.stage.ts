/**
 * Backtest: walk-forward and point in time. At each rebalance the decision stages before this one run again
 * (env.replayMany) on data up to that day only, over the last `train_window` days; the weights they decide are
 * held for the next `test_window` days (until the next rebalance, `step_size` days later; when test_window <
 * step_size the book is sold at the end of the holding period, that trade charged, and the days until the next
 * decision are cash). A date on which the policy lets nothing through is a decision to hold cash (the window's
 * `cash_reason` says so), not a failed backtest. Weights drift with prices, trading costs are charged on traded
 * notional, borrow (short exposure) and funding (perpetuals) daily on exposure (carry.ts), a window whose equity
 * reaches zero is liquidated and stays at zero, and returns compound time-weighted. Metrics come from
 * src/math/metrics.ts and are verified by a second route. weights.json is a final decision at the as-of date by
 * the same rule (metrics.json says `weights_as_of`), and metrics.json's allocation block describes that decision.
 * With challenger rankers, every decision is also re-made with each challenger as champion and held the same
 * way: challengers.json and challengers.arrow give each ranker's out-of-sample record. docs/backtest.md.
 */
import type { SelectionContext, ToxicBar } from '../../src/core/context.js';
import { FractalError, inputError, runError } from '../../src/core/errors.js';
import { bool, int, num, params, pluginRef, str } from '../../src/core/params.js';
import type { PluginRef, PreflightEnv, ReplayDecision, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { dayFromIso, isoFromDay } from '../../src/lakehouse/dates.js';
import { computeMetrics, drawdownSeries, equityCurve, verifyMetrics } from '../../src/math/metrics.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { periodsPerYearFor } from '../features/feature-engineering.stage.js';
import { carryRates } from './carry.js';
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
  /** Borrow and funding paid over the window (sums of daily charges as fractions of that day's equity). */
  borrow: number;
  funding: number;
  return: number;
  liquidated: boolean;
  weights: { symbol: string; weight: number }[];
  /** Why the window holds cash (the policy let nothing through as of that date). */
  cash_reason?: string;
  /** Constraints the decision changed by a declared rule (a cluster cap relaxed, risk budgets renormalised). */
  adjustments?: ReplayDecision['adjustments'];
  /** Bad prints of held names in the window, and what was booked instead (src/lakehouse/toxic.ts). */
  toxic_bars?: { symbol: string; date: string; kind: 'spike' | 'reversal'; value: number; booked: number | null }[];
}

/** One ranker's out-of-sample path: daily returns on the backtest's calendar and the windows that made them. */
interface Path {
  dates: Int32Array;
  returns: Float64Array;
  windows: WindowRecord[];
  weightRows: { date: number; symbol: string; weight: number }[];
  liquidated: boolean;
}

interface PathSettings {
  calendar: Int32Array;
  rebalances: number[];
  test: number;
  costRate: number;
  borrowRate: number;
  fundingRate: number;
  simulator: Simulator;
  market: NonNullable<SelectionContext['market']>;
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
      borrow_rate: num('Annual borrow rate charged daily (calendar days / 365) on the SHORT exposure of borrowed assets (spot, equity, ETF); perpetuals pay funding instead.', 0.05, { min: 0 }),
      funding_rate: num("Annual funding rate of perpetuals (long exposure pays, short exposure receives; negative: the reverse), charged daily (calendar days / 365) on the days the lakehouse has no funding series for the symbol. The default is the major venues' baseline, 0.01% every 8 hours.", 0.1095),
      challengers: bool('When the inference stage has challenger rankers, re-make every decision with each as champion and hold it the same way: each ranker gets an out-of-sample record (challengers.json, challengers.arrow, the report).', true),
      benchmark: str('Benchmark symbol (same venue) for the report.'),
      risk_free_rate: num('Annual risk-free rate for Sharpe and Sortino.', 0),
      simulator: pluginRef('simulator', 'How holdings are simulated between rebalances.', 'vectorized'),
      periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
      workers: int('Threads deciding windows in parallel (windows are independent); one per core, at least 4 windows each, when omitted. 1 decides them in process.', undefined, { min: 1 }),
    }),
  };

  /** The train window and the benchmark against the venue's symbols table (no bars read), before anything runs. */
  preflight(p: Record<string, unknown>, env: PreflightEnv): FractalError[] {
    const u = env.universe;
    if (!u || u.asOf === undefined) return [];
    const out: FractalError[] = [];
    const benchmark = p.benchmark as string | undefined;
    if (benchmark !== undefined && !u.symbols.some((s) => s.symbol === benchmark))
      out.push(inputError('UNKNOWN_SYMBOL', `backtest benchmark '${benchmark}' is not on venue ${u.venue}`, undefined, { param: ['benchmark'] }));
    // The most days the calendar up to the as-of date can have: calendar days since the first bar, and no more
    // than all the symbols' bars together. Fewer than train_window + 2 leaves nothing to test, whatever is found.
    let first = Infinity;
    let bars = 0;
    for (const s of u.symbols) {
      const f = dayFromIso(s.first_date);
      if (f > u.asOf) continue;
      first = Math.min(first, f);
      bars += Math.min(s.rows, Math.min(dayFromIso(s.last_date), u.asOf) - f + 1);
    }
    const most = Number.isFinite(first) ? Math.min(u.asOf - first + 1, bars) : 0;
    const train = p.train_window as number;
    if (most < train + 2)
      out.push(inputError('BACKTEST_TOO_SHORT', `venue ${u.venue} has at most ${most} days of data up to ${isoFromDay(u.asOf)}; train_window ${train} leaves nothing to test`, 'Lower train_window (a profile such as development does) or load more history.', { param: ['train_window'] }));
    return out;
  }

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
    const borrowRate = (p.borrow_rate as number | undefined) ?? 0.05;
    const fundingRate = (p.funding_rate as number | undefined) ?? 0.1095;

    // The calendar: every day of the venue's data up to the run's as-of date. Not the as-of candidates' days: who is
    // a candidate then depends on data after every earlier rebalance (a coin delisted since would move them all).
    const calendar = await market.calendar(ctx.as_of);
    const T = calendar.length;
    if (T < train + 2)
      throw inputError('BACKTEST_TOO_SHORT', `the data has ${T} days up to ${isoFromDay(ctx.as_of)}; train_window ${train} leaves nothing to test`, 'Lower train_window (a profile such as development does) or load more history.', { param: ['train_window'] });
    const benchmark = p.benchmark as string | undefined;
    const rebalances: number[] = [];
    for (let t = train - 1; t < T - 1; t += step) rebalances.push(t);

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
    const wantChallengers = p.challengers !== false;
    const all = await env.replayMany([...rebalances.map((t) => calendar[t]), asOfFinal], { lookbackDays: train, challengers: wantChallengers, threads, onProgress: (done) => env.progress('backtest windows', Math.min(done, rebalances.length), rebalances.length) });
    for (const o of all) {
      for (const d of [o, ...Object.values(o.challengers ?? {})]) {
        if (d.lastSeen !== null && d.lastSeen > o.asOf) throw runError('LOOKAHEAD', `a decision as of ${isoFromDay(o.asOf)} saw ${isoFromDay(d.lastSeen)}`);
      }
    }
    const decisions = all.slice(0, rebalances.length);
    const finalDecision = all[rebalances.length];
    const settings: PathSettings = { calendar, rebalances, test, costRate, borrowRate, fundingRate, simulator, market };

    const champion = await holdPath(decisions, settings);
    champion.windows.forEach((record, k) => {
      for (const b of record.toxic_bars ?? []) env.audit.event('backtest', 'toxic_bar', { window: k, ...b, threshold: market.toxicThreshold });
      for (const a of record.adjustments ?? []) env.audit.event('backtest', 'window_adjustment', { window: k, as_of: record.as_of, ...a });
      env.audit.event('backtest', 'window', record);
    });
    const r = champion.returns;
    const d = champion.dates;
    const dead = champion.liquidated;
    let bench: Float64Array | undefined;
    if (benchmark) {
      const b = await market.readReturns({ symbols: [benchmark], start: d[0], end: d[d.length - 1] }).catch((err) => {
        throw err instanceof FractalError && err.exitCode === 2 ? err.atParam(['benchmark']) : err;
      });
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
    const last = finalDecision.weights;
    const summary = {
      periods_per_year: ppy,
      windows: champion.windows.length,
      first: isoFromDay(d[0]),
      last: isoFromDay(d[d.length - 1]),
      out_of_sample: true,
      ...metrics,
      ...pathCosts(champion, ppy),
      weights_as_of: isoFromDay(asOfFinal),
      universe_point_in_time: pointInTime,
      risk_free_rate: rf,
      engines: champion.windows.reduce<Record<string, number>>((acc, w) => (w.engine ? { ...acc, [w.engine]: (acc[w.engine] ?? 0) + 1 } : acc), {}),
      gross_exposure: last.reduce((a, w) => a + Math.abs(w.weight), 0),
      net_exposure: last.reduce((a, w) => a + w.weight, 0),
      liquidated: dead,
      benchmark: bench ? { symbol: benchmark, ...computeMetrics(bench, ppy, rf) } : null,
      verification,
      volatility_band: band === undefined ? null : { engine, band, realised: metrics.volatility, drift: metrics.volatility - band, flagged: metrics.volatility - band > BAND_DRIFT_LIMIT },
      ...(finalDecision.champion ? { champion: finalDecision.champion } : {}),
    };
    if (summary.volatility_band?.flagged) env.audit.event('backtest', 'volatility_band_drift', summary.volatility_band);

    // Challengers: each ranker's decisions held exactly like the champion's, on the same calendar.
    const keys = Object.keys(finalDecision.challengers ?? {});
    const challengerRecords: Record<string, ReturnType<typeof rankerRecord>> = {};
    const challengerReturns: Record<string, Float64Array> = {};
    for (const key of keys) {
      const path = await holdPath(decisions.map((o) => o.challengers?.[key] ?? { weights: [], winners: null, lastSeen: null, engine: null, cash_reason: 'no decision' }), settings);
      if (path.dates.length !== d.length || path.dates.some((x, i) => x !== d[i])) throw runError('CHALLENGER_CALENDAR', `challenger '${key}' was held on another calendar than the champion`);
      challengerReturns[key] = path.returns;
      challengerRecords[key] = rankerRecord('challenger', path, ppy, rf, finalDecision.challengers![key]!.weights, bench);
      env.audit.event('backtest', 'challenger_backtest', { ranker: key, ...challengerRecords[key]!.metrics, windows: path.windows.length });
    }

    const eq = equityCurve(r);
    await env.artifacts.writeBytes('returns.arrow', await encodeColumns({ date: { kind: 'date', values: d }, return: { kind: 'float', values: r }, ...(bench ? { benchmark: { kind: 'float', values: bench } } : {}) }));
    await env.artifacts.writeBytes('equity.arrow', await encodeColumns({ date: { kind: 'date', values: d }, equity: { kind: 'float', values: eq }, drawdown: { kind: 'float', values: drawdownSeries(r) }, ...(bench ? { benchmark_equity: { kind: 'float', values: equityCurve(bench) } } : {}) }));
    await env.artifacts.writeBytes('weights.arrow', await encodeColumns({
      date: { kind: 'date', values: Int32Array.from(champion.weightRows, (w) => w.date) },
      symbol: { kind: 'string', values: champion.weightRows.map((w) => w.symbol) },
      weight: { kind: 'float', values: Float64Array.from(champion.weightRows, (w) => w.weight) },
    }));
    let challengers: { champion: string; rankers: Record<string, unknown> } | undefined;
    if (keys.length && finalDecision.champion) {
      const championKey = finalDecision.champion;
      challengers = { champion: championKey, rankers: { [championKey]: rankerRecord('champion', champion, ppy, rf, last, bench), ...challengerRecords } };
      await env.artifacts.writeJson('challengers.json', {
        champion: championKey,
        // JSON objects are written in canonical key order: the rankers' own order (champion first) is this list.
        order: [championKey, ...keys],
        out_of_sample: true,
        note: 'Each ranker as champion: every walk-forward decision re-made with it (discovery, features and scores shared, the stages after inference run per ranker) and held with the same costs, carry and calendar.',
        first: summary.first,
        last: summary.last,
        windows: summary.windows,
        rankers: challengers.rankers,
      });
      await env.artifacts.writeBytes('challengers.arrow', await encodeColumns({ date: { kind: 'date', values: d }, [championKey]: { kind: 'float', values: r }, ...Object.fromEntries(keys.map((k) => [k, { kind: 'float' as const, values: challengerReturns[k]! }])) }));
    }
    await env.artifacts.writeJsonSection('metrics.json', 'backtest', summary);
    // weights.json is the final decision; the allocation block and atom weights describe that same decision.
    await env.artifacts.writeJson('weights.json', last);
    const decision = { by: 'backtest', as_of: isoFromDay(asOfFinal), lookback_days: train };
    if (finalDecision.allocation) {
      await env.artifacts.writeJsonSection('metrics.json', 'allocation', { ...finalDecision.allocation.metrics, decision });
      if (finalDecision.allocation.atoms) await env.artifacts.writeJson('atoms.json', finalDecision.allocation.atoms);
    } else if (ctx.extra.allocation_record) {
      // The as-of decision holds cash: the block says so rather than describe the allocation stage's own decision.
      await env.artifacts.writeJsonSection('metrics.json', 'allocation', { weights: {}, cash_reason: finalDecision.cash_reason ?? null, decision });
      await env.artifacts.writeJson('atoms.json', []);
    }
    ctx.weights = last;
    ctx.backtest = { dates: d, returns: r, benchmark: bench, windows: champion.windows, metrics: summary, ...(challengers ? { challengers: { ...challengers, returns: { [challengers.champion]: r, ...challengerReturns } } } : {}) };
    env.log(`backtest: ${champion.windows.length} windows, ${isoFromDay(d[0])} to ${isoFromDay(d[d.length - 1])}, CAGR ${(metrics.cagr * 100).toFixed(1)}%, Sharpe ${metrics.sharpe.toFixed(2)}, max drawdown ${(metrics.max_drawdown * 100).toFixed(1)}%${keys.length ? `; challengers ${keys.map((k) => `${k} Sharpe ${(challengerRecords[k]!.metrics.sharpe as number).toFixed(2)}`).join(', ')}` : ''}`);
    return ctx;
  }
}

/** Trading costs and carry of a path, apart: totals (sums of fractions of equity) and per year. */
function pathCosts(path: Path, ppy: number) {
  const sum = (f: (w: WindowRecord) => number) => path.windows.reduce((a, w) => a + f(w), 0);
  const years = path.returns.length / ppy;
  const borrow = sum((w) => w.borrow);
  const funding = sum((w) => w.funding);
  return {
    turnover: sum((w) => w.turnover) / Math.max(1, path.windows.length),
    costs: sum((w) => w.cost),
    carry: { borrow, funding, total: borrow + funding, per_year: years > 0 ? (borrow + funding) / years : 0 },
  };
}

/** One ranker's out-of-sample record for challengers.json. */
function rankerRecord(role: 'champion' | 'challenger', path: Path, ppy: number, rf: number, finalWeights: { symbol: string; weight: number }[], bench?: Float64Array) {
  const metrics: Record<string, unknown> = { ...computeMetrics(path.returns, ppy, rf), ...pathCosts(path, ppy), liquidated: path.liquidated };
  if (bench) {
    let a = 0;
    for (let i = 0; i < bench.length; i++) a += path.returns[i]! - bench[i]!;
    metrics.mean_excess_over_benchmark = a / Math.max(1, bench.length);
  }
  return {
    role,
    metrics,
    engines: path.windows.reduce<Record<string, number>>((acc, w) => (w.engine ? { ...acc, [w.engine]: (acc[w.engine] ?? 0) + 1 } : acc), {}),
    cash_windows: path.windows.filter((w) => w.cash_reason).length,
    weights_as_of: finalWeights.map((w) => ({ symbol: w.symbol, weight: w.weight })),
  };
}

/**
 * Holds a sequence of decisions (one per rebalance) on the calendar: drift, trading costs, carry, exits when the
 * holding period ends before the next decision, liquidation. Every ranker's path is made by this one function.
 */
async function holdPath(decisions: ReplayDecision[], s: PathSettings): Promise<Path> {
  const { calendar, rebalances, test, costRate, simulator, market } = s;
  const T = calendar.length;
  const dates: number[] = [];
  const daily: number[] = [];
  const windows: WindowRecord[] = [];
  const weightRows: { date: number; symbol: string; weight: number }[] = [];
  let held = new Map<string, number>();
  let dead = false;
  for (let k = 0; k < rebalances.length; k++) {
    const t = rebalances[k];
    const asOf = calendar[t];
    const lastDay = Math.min(t + test, k + 1 < rebalances.length ? rebalances[k + 1] : T - 1, T - 1);
    const nextDecision = k + 1 < rebalances.length ? rebalances[k + 1] : T - 1;
    const decided = decisions[k];
    const weights = decided.weights.filter((w) => w.weight !== 0);
    const symbols = [...new Set([...weights.map((w) => w.symbol), ...held.keys()])].sort();
    const target = Float64Array.from(symbols, (sym) => weights.find((w) => w.symbol === sym)?.weight ?? 0);
    const current = Float64Array.from(symbols, (sym) => held.get(sym) ?? 0);
    // Realised returns of the window, read after the decision: the decision never saw them.
    const windowDates = calendar.subarray(t + 1, lastDay + 1);
    let realised: Float64Array = new Float64Array(0);
    let toxic: ToxicBar[] = [];
    let funding: Float64Array | undefined;
    if (symbols.length && windowDates.length) {
      // A held symbol delisted before or during the window has no bars there: its price stays where it was.
      const r = await market.readReturns({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true }).catch((err) => {
        if ((err as { code?: string }).code === 'LAKEHOUSE_MISSING_DATA') return undefined; // none of them has a bar
        throw err;
      });
      realised = r ? alignColumns(r.dates, r.symbols, r.values, windowDates, symbols) : new Float64Array(symbols.length * windowDates.length).fill(NaN);
      // Bad prints in the held names: booked as the decisions saw them (the same toxic-bar rule), and recorded.
      if (r) toxic = await market.readToxicBars({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1], allowEmpty: true });
      const f = await market.readFunding({ symbols, start: windowDates[0], end: windowDates[windowDates.length - 1] });
      if (f) funding = alignColumns(f.dates, f.symbols, f.values, windowDates, symbols);
    }
    const perp = Uint8Array.from(symbols, (sym) => (market.assetType(sym) === 'perp' ? 1 : 0));
    const carry = carryRates(windowDates, asOf, perp, s.borrowRate, s.fundingRate, funding);
    const result: HoldingResult = dead
      ? { returns: new Float64Array(windowDates.length), end: new Float64Array(symbols.length), turnover: 0, cost: 0, borrow: 0, funding: 0, liquidated: true }
      : simulator.hold({ dates: windowDates, symbols, returns: realised, target, current, costRate, carry });
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
    held = new Map(symbols.map((sym, j) => [sym, lastDay < nextDecision ? 0 : result.end[j]] as const).filter(([, w]) => w !== 0));
    for (const w of weights) weightRows.push({ date: asOf, symbol: w.symbol, weight: w.weight });
    windows.push({
      window: k,
      as_of: isoFromDay(asOf),
      start: windowDates.length ? isoFromDay(windowDates[0]) : isoFromDay(asOf),
      end: windowDates.length ? isoFromDay(windowDates[windowDates.length - 1]) : isoFromDay(asOf),
      holdings: weights.length,
      winners: decided.winners,
      engine: decided.engine,
      turnover: result.turnover + exitTurnover,
      cost: result.cost + exitTurnover * costRate,
      borrow: result.borrow,
      funding: result.funding,
      return: result.returns.reduce((g: number, x: number) => g * (1 + x), 1) - 1,
      liquidated: result.liquidated,
      weights: weights.map((w) => ({ symbol: w.symbol, weight: w.weight })),
      ...(decided.cash_reason ? { cash_reason: decided.cash_reason } : {}),
      ...(decided.adjustments?.length ? { adjustments: decided.adjustments } : {}),
      ...(toxic.length ? { toxic_bars: toxic.map((b) => ({ symbol: b.symbol, date: isoFromDay(b.date), kind: b.kind, value: b.value, booked: Number.isFinite(b.booked) ? b.booked : null })) } : {}),
    });
  }
  return { dates: Int32Array.from(dates), returns: Float64Array.from(daily), windows, weightRows, liquidated: dead };
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
