/**
 * Backtest: walk-forward and point in time. At each rebalance the decision stages before this one run again
 * (the Replays service) on data up to that day only, over the last `train_window` days; the weights they decide are
 * held for the next `test_window` days (until the next rebalance, `step_size` days later; when test_window <
 * step_size the book is sold at the end of the holding period, that trade charged, and the days until the next
 * decision are cash). A date on which the policy lets nothing through is a decision to hold cash (the window's
 * `cash_reason` says so), not a failed backtest. Weights drift with prices, trading costs are charged on traded
 * notional, borrow (short exposure) and funding (perpetuals) daily on exposure (src/portfolio/carry.ts), a window whose equity
 * reaches zero is liquidated and stays at zero, and returns compound time-weighted. Metrics come from
 * src/math/metrics.ts and are verified by a second route. weights.json is a final decision at the as-of date by
 * the same rule (metrics.json says `weights_as_of`), and metrics.json's allocation block describes that decision.
 * With challenger rankers, every decision is also re-made with each challenger as champion and held the same
 * way: challengers.json and challengers.arrow give each ranker's out-of-sample record. docs/backtest.md.
 */
import type { BacktestRecord, RankerRecord, SelectionContext } from '../../src/core/context.js';
import { FractalError, inputError, runError } from '../../src/core/errors.js';
import { bool, int, num, oneOfStr, params, pluginRef, str, refName, type Static } from '../../src/core/params.js';
import { inject } from 'inversify';
import { type EngineMeta, type PreflightEnv, type ReplayOutcome, type Replays, type ReplaySchedule, type ScannerMeta, SERVICE, type SimulatorMeta, type Stage, type StageEnv, type StageMeta, type Universe } from '../../src/core/plugin.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';
import { benchmarkRelative, computeMetrics, drawdownSeries, equityCurve, verifyMetrics } from '../../src/math/metrics.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { cashReasonCounts } from '../../src/runs/record-flags.js';
import { periodsPerYearFor } from '../../src/util/annualisation.js';
import { alignColumns } from './market-panel.js';
import { pathCosts, parityRecord, type ParityRecord } from './parity.js';
import { realisedExposure } from './exposure.js';
import { minWinnersFloor } from './holdings-floor.js';
import type { Costs, Ledger, Simulator } from '../../src/portfolio/simulator.js';
import { holdPath, type HeldPath, type HoldSettings } from '../../src/portfolio/hold.js';
import { defaultThreads } from '../../src/util/threads.js';

/** Realised volatility more than this above the engine's declared band (EngineMeta.volatilityBand) is flagged. */
export const BAND_DRIFT_LIMIT = 0.25;

export const FIRST_REBALANCE = ['after_train_days', 'after_train_returns'] as const;

/**
 * CPU milliseconds a replay worker thread adds to the run before its first decision (see `threads` below): measured
 * on the walk-forward bench, its own thread is ready after 80-90 ms, and the process's CPU (the compiler's and the
 * collector's threads too) rises by about 600 ms with a worker whose first decision is its only cold one.
 */
const WORKER_START_CPU_MS = 600;
/** The first (cold) decision costs about this many warm ones: see `threads` below. */
const COLD_OVER_WARM = 4;
/** Decisions × candidates × train window from which workers pay without timing a decision first: `threadsBefore`. */
const LARGE_WORK = 12_000_000;

const PARAMS = params({
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
  simulator: pluginRef('simulator', 'How the decisions are held: `vectorized` (weights with drift) or `event_driven` (orders, fills and a cash account); docs/backtest.md compares them.', 'vectorized'),
  parity: bool("Also hold the champion's decisions with the other simulator (the order-level `event_driven` against the `vectorized` reference; event_driven with its defaults when the simulator is vectorized) and write parity.json and a report section: how far the vectorized backtest can be trusted.", false),
  periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
  workers: int("Threads deciding windows in parallel (windows are independent; any number gives the same bytes); given, the workers start as the run begins, so that they load while the data is read, and get their dates once ingestion has run, deciding while the stages before the backtest run. When omitted and the work is large (decisions × candidates × train_window of 12 million or more), one thread per core is used the same way, the workers started as the run begins when the lakehouse's symbols table already says so (the venue's symbols up to the scanner's limit, the longest series' days), else with their dates; otherwise the first decision is made in process to time it, and the others go to one thread per core (at least 4 windows each; the run's own thread takes a share) when what threads save on them (a quarter of the first decision's CPU time times their number, less a thread's share) outweighs a worker's start-up (about 0.6 CPU s, plus its first decision, colder than the run's own); a worker still starting when the others are done is ended, never waited for. 1 decides them in process.", undefined, { min: 1 }),
  first_rebalance: oneOfStr(FIRST_REBALANCE, "When the first decision is made. 'after_train_days': on the train_window-th day of data, whose window holds train_window − 1 returns (the first day of data has no return). 'after_train_returns': one day later, once train_window returns exist, so every decision sees train_window returns (numpy's `R[t - train:t]` with the first decision at t = train).", 'after_train_days'),
});
export type BacktestParams = Static<typeof PARAMS>;

export class BacktestStage implements Stage<SelectionContext, BacktestParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'backtest',
    description: 'Walk-forward, point-in-time backtest of the decision stages before it, with drift and costs.',
    documents: ['selection'],
    requires: ['weights'],
    provides: ['backtest'],
    params: PARAMS,
    replays: { threadsParam: 'workers' },
  };

  constructor(@inject(SERVICE.Replays) private readonly replays: Replays) {}

  /** The train window and the benchmark against the venue's symbols table (no bars read), before anything runs. */
  preflight(p: BacktestParams, env: PreflightEnv): FractalError[] {
    const u = env.universe;
    if (!u || u.asOf === undefined) return [];
    const out: FractalError[] = [];
    const benchmark = p.benchmark;
    if (benchmark !== undefined && !u.symbols.some((s) => s.symbol === benchmark))
      out.push(inputError('UNKNOWN_SYMBOL', `backtest benchmark '${benchmark}' is not on venue ${u.venue}`, undefined, { param: ['benchmark'] }));
    // Fewer days than train_window + 2 leaves nothing to test, whatever is found.
    const { most } = calendarBounds(u, u.asOf);
    const train = p.train_window;
    if (most < train + 2)
      out.push(inputError('BACKTEST_TOO_SHORT', `venue ${u.venue} has at most ${most} days of data up to ${isoFromDay(u.asOf)}; train_window ${train} leaves nothing to test`, 'Lower train_window (a profile such as development does) or load more history.', { param: ['train_window'] }));
    return out;
  }

  /**
   * Threads for the decisions, known from the universe before the run begins when the work is clearly large
   * (`threadsBefore`, on the decisions the longest series allows and the venue's symbols up to the scanner's limit:
   * liquidity floors come later): the runner starts the workers then, so that they load while ingestion reads the
   * data. `schedule` and `execute` decide on what ingestion found; a worker started for nothing is ended unused.
   */
  threadsAhead(p: BacktestParams, env: PreflightEnv): number | undefined {
    const u = env.universe;
    if (p.workers !== undefined || !u || u.asOf === undefined) return undefined;
    // The calendar's days estimated by the longest series' (never more than it can have).
    const { longest: days, symbols } = calendarBounds(u, u.asOf);
    const first = firstRebalance(p);
    // Rebalances at first, first + step, … below days − 1, and the as-of decision (plan() below).
    const decisions = days - 1 > first ? Math.ceil((days - 1 - first) / p.step_size) + 1 : 0;
    return decisions > 1 ? threadsBefore(decisions, Math.min(symbols, u.limit ?? Infinity), p.train_window) : undefined;
  }

  /**
   * The decisions this stage will replay, once ingestion has opened the market: the runner hands them to the workers
   * while the stages in between run. Only when it knows, before deciding, that workers pay (`workers` > 1, or the
   * work is large: see `threadsBefore`); null otherwise.
   */
  async schedule(ctx: SelectionContext, p: BacktestParams): Promise<ReplaySchedule | null | undefined> {
    if (!ctx.market || ctx.as_of === undefined || !ctx.raw_pool) return undefined;
    const { dates, replayOpts, threads } = await this.plan(ctx, p);
    return threads !== undefined && threads > 1 ? { dates, ...replayOpts, threads } : null;
  }

  /** The calendar, the rebalances and the replays they ask for: one rule for `schedule` and `execute`. */
  private async plan(ctx: SelectionContext, p: BacktestParams) {
    const market = ctx.market;
    if (!market || ctx.as_of === undefined || !ctx.raw_pool) throw runError('BACKTEST_NO_MARKET', 'the backtest needs the market the ingestion stage opened; put ingestion first');
    const train = p.train_window;
    const step = p.step_size;
    // The calendar: every day of the venue's data up to the run's as-of date. Not the as-of candidates' days: who is
    // a candidate then depends on data after every earlier rebalance (a coin delisted since would move them all).
    const calendar = await market.calendar(ctx.as_of);
    const T = calendar.length;
    if (T < train + 2)
      throw inputError('BACKTEST_TOO_SHORT', `the data has ${T} days up to ${isoFromDay(ctx.as_of)}; train_window ${train} leaves nothing to test`, 'Lower train_window (a profile such as development does) or load more history.', { param: ['train_window'] });
    const rebalances: number[] = [];
    const first = firstRebalance(p);
    for (let t = first; t < T - 1; t += step) rebalances.push(t);
    // One more decision at the as-of date itself (nothing left to hold): the run's weights.json, made by the same
    // point-in-time rule as every rebalance, and dated.
    const dates = [...rebalances.map((t) => calendar[t]!), calendar[T - 1]!];
    // The schedule in blocks of gcd(train, step) rows aligned with the windows: stages may reuse work across windows.
    const block = gcd(train, step);
    const starts: number[] = [];
    for (let t = (first + 1) % block; t < T; t += block) starts.push(calendar[t]!);
    const replayOpts = { lookbackDays: train, challengers: p.challengers !== false, grid: { block, step, starts } };
    return { calendar, rebalances, dates, replayOpts, threads: p.workers ?? threadsBefore(dates.length, ctx.raw_pool.length, train) };
  }

  async execute(ctx: SelectionContext, p: BacktestParams, env: StageEnv): Promise<SelectionContext> {
    const { calendar, rebalances, dates, replayOpts, threads: known } = await this.plan(ctx, p);
    const market = ctx.market!;
    const train = p.train_window;
    const test = p.test_window;
    const rf = p.risk_free_rate ?? 0;
    const simRef = p.simulator;
    const simulator = { name: simRef.name, instance: env.plugins.get<Simulator>('simulator', simRef.name), params: simRef.params ?? {} };
    const costs: Costs = {
      slippageBps: p.slippage_bps,
      commissionBps: p.commission_bps,
      borrowRate: p.borrow_rate ?? 0.05,
      fundingRate: p.funding_rate ?? 0.1095,
    };
    const benchmark = p.benchmark;
    const asOfFinal = dates[dates.length - 1]!;

    // Every decision first (independent: in parallel when there are cores for it), then the holding path in order.
    env.progress('backtest windows', 0, rebalances.length);
    const progress = (done: number) => env.progress('backtest windows', Math.min(done, rebalances.length), rebalances.length);
    // Worker threads pay a start-up on their own cores: modules loaded, the pipeline rebuilt, the compiler's work
    // (WORKER_START_CPU_MS), then a first decision colder than the run's own first one. The pool never waits for a
    // worker that is still starting (this thread takes its dates over, src/exec/replay-claims.ts), so a worker costs
    // wall time only through its CPU: worth it when what t threads save on the decisions left, warm, outweighs that:
    // warm × left × (1 - 1/t) > start-up + first. Unless `workers` says or the work is clearly large
    // (`threadsBefore`), the first decision is made in process and timed in CPU (which a busy machine does not
    // inflate, unlike wall time), and the workers start right after it; a warm decision is estimated from it (the
    // walk-forward bench: N=500 54-67 ms, then 8-45 ms; N=2000 210-225 ms, then 45-60 ms: COLD_OVER_WARM).
    // Decisions are independent: where each is made never changes it.
    let threads = known;
    const head: ReplayOutcome[] = [];
    if (threads === undefined) {
      const cpu0 = process.cpuUsage();
      head.push(...(await this.replays.replayMany(dates.slice(0, 1), { ...replayOpts, threads: 1, onProgress: () => progress(1) })));
      const cpu = process.cpuUsage(cpu0);
      const first = (cpu.user + cpu.system) / 1000;
      const left = dates.length - 1;
      const t = defaultThreads(left);
      threads = (first / COLD_OVER_WARM) * left * (1 - 1 / t) > WORKER_START_CPU_MS + first ? t : 1;
    }
    const rest = await this.replays.replayMany(dates.slice(head.length), { ...replayOpts, threads, onProgress: (done) => progress(head.length + done) });
    const all = [...head, ...rest];
    for (const o of all) {
      for (const d of [o, ...Object.values(o.challengers ?? {})]) {
        if (d.lastSeen !== null && d.lastSeen > o.asOf) throw runError('LOOKAHEAD', `a decision as of ${isoFromDay(o.asOf)} saw ${isoFromDay(d.lastSeen)}`);
      }
    }
    const decisions = all.slice(0, rebalances.length);
    const finalDecision = all[rebalances.length];
    // Annualised by the as-of candidates' asset type; when the run's own decision found none (it holds cash), by the
    // first symbol any decision held.
    const heldFirst = ctx.raw_pool![0] ? undefined : all.find((o) => o.weights.length)?.weights[0]?.symbol;
    const ppy = p.periods_per_year ?? periodsPerYearFor(ctx.raw_pool![0] ?? (heldFirst !== undefined ? { asset_type: market.assetType(heldFirst) } : undefined));
    const settings: HoldSettings = { calendar, rebalances, test, costs, simulator, market };

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
    // Whether each past decision drew from the universe as it was then; why not, when it did not.
    const universeCaveats = universeNotPointInTime(env);
    const pointInTime = universeCaveats.length === 0;
    if (!pointInTime) env.audit.event('backtest', 'universe_not_point_in_time', { scanner: refName(env.pipeline.config.stages.find((st) => st.type === 'ingestion')?.params.scanner) ?? null, reasons: universeCaveats, note: 'past decisions drew from a universe chosen with later knowledge: the record is survivorship-biased' });
    const band = engine !== undefined ? env.plugins.meta<EngineMeta>('engine', engine).volatilityBand : undefined;
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
      ...(pointInTime ? {} : { universe_caveats: universeCaveats }),
      // Decisions that held cash, by why: a record of cash is flagged, not passed off as a flat strategy.
      cash_windows: champion.windows.filter((w) => w.cash_reason).length,
      cash_reasons: cashReasonCounts(champion.windows),
      risk_free_rate: rf,
      engines: champion.windows.reduce<Record<string, number>>((acc, w) => (w.engine ? { ...acc, [w.engine]: (acc[w.engine] ?? 0) + 1 } : acc), {}),
      gross_exposure: last.reduce((a, w) => a + Math.abs(w.weight), 0),
      net_exposure: last.reduce((a, w) => a + w.weight, 0),
      // The book actually held: start-of-day drifted weights, every day of the record (exposure.ts).
      ...realisedExposure(d, champion.exposure),
      // Decisions holding fewer names than the policy's min_winners, and the record from when none does (holdings-floor.ts).
      ...minWinnersFloor(champion.windows, d, r, ppy, rf, policyFloor(env)),
      liquidated: dead,
      // Against the benchmark on the same days: beta, alpha, tracking error, information ratio (src/math/metrics.ts).
      benchmark: bench && benchmark ? { symbol: benchmark, ...computeMetrics(bench, ppy, rf), relative: benchmarkRelative(r, bench, ppy, rf) } : null,
      verification,
      volatility_band: band === undefined || engine === undefined ? null : { engine, band, realised: metrics.volatility, drift: metrics.volatility - band, limit: BAND_DRIFT_LIMIT, flagged: metrics.volatility - band > BAND_DRIFT_LIMIT },
      ...(finalDecision.champion ? { champion: finalDecision.champion } : {}),
      ...(champion.ledger ? { simulator: { name: simulator.name, params: simulator.params, orders: champion.ledger.orders.length, fills: champion.ledger.fills.length, unfilled: champion.ledger.orders.filter((o) => o.status !== 'filled').length } } : {}),
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
    let challengers: { champion: string; rankers: Record<string, RankerRecord> } | undefined;
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
    // An order-level simulator's record; with parity, the same decisions held by the other simulator too.
    if (champion.ledger) await writeLedger(env, champion.ledger);
    let parity: { record: ParityRecord; simulator: string; reference: string; returns: Record<string, Float64Array> } | undefined;
    if (p.parity) {
      // The reference holds weights; the simulator checked against it is the first of the other model.
      const isReference = env.plugins.meta<SimulatorMeta>('simulator', simulator.name).model === 'weights';
      const other = resolvedSimulator(env, otherModel(env, isReference ? 'orders' : 'weights'));
      const otherPath = await holdPath(decisions, settings, other);
      const [sim, reference] = isReference ? [{ name: other.name, ...otherPath }, { name: simulator.name, ...champion }] : [{ name: simulator.name, ...champion }, { name: other.name, ...otherPath }];
      if (!champion.ledger && otherPath.ledger) await writeLedger(env, otherPath.ledger);
      const params = isReference ? other.params : simulator.params;
      const record = parityRecord(sim, reference, ppy, rf, { [sim.name]: params, slippage_bps: costs.slippageBps, commission_bps: costs.commissionBps, borrow_rate: costs.borrowRate, funding_rate: costs.fundingRate });
      await env.artifacts.writeJson('parity.json', record);
      env.audit.event('backtest', 'parity', { simulator: sim.name, reference: reference.name, differences: record.differences, tracking_error: record.tracking_error, largest_equity_gap: record.largest_equity_gap, unfilled: record.unfilled.orders });
      parity = { record, simulator: sim.name, reference: reference.name, returns: { [sim.name]: sim.returns, [reference.name]: reference.returns } };
      env.log(`backtest parity: ${sim.name} vs ${reference.name}, Sharpe ${record.differences.sharpe >= 0 ? '+' : ''}${record.differences.sharpe.toFixed(3)}, CAGR ${(record.differences.cagr * 100).toFixed(2)} pts, tracking error ${(record.tracking_error * 100).toFixed(2)}%, ${record.unfilled.orders} of ${record.unfilled.of} orders not completed`);
    }
    await env.artifacts.writeJsonSection('metrics.json', 'backtest', summary);
    // weights.json is the final decision; the allocation block and atom weights describe that same decision.
    await env.artifacts.writeJson('weights.json', last);
    const decision = { by: 'backtest', as_of: isoFromDay(asOfFinal), lookback_days: train };
    if (finalDecision.allocation) {
      await env.artifacts.writeJsonSection('metrics.json', 'allocation', { ...finalDecision.allocation.metrics, decision });
      if (finalDecision.allocation.atoms) await env.artifacts.writeJson('atoms.json', finalDecision.allocation.atoms);
    } else if (ctx.allocation_record || finalDecision.cash_reason !== undefined) {
      // The as-of decision holds cash: the block says so rather than describe the allocation stage's own decision
      // (or, when the run's own decision held cash before it, where its record would be).
      await env.artifacts.writeJsonSection('metrics.json', 'allocation', { weights: {}, cash_reason: finalDecision.cash_reason ?? null, decision });
      await env.artifacts.writeJson('atoms.json', []);
    }
    ctx.weights = last;
    // The run's weights are this decision's: so is whether it holds cash.
    if (finalDecision.cash_reason !== undefined) ctx.cash_reason = finalDecision.cash_reason;
    else delete ctx.cash_reason;
    // At least what the run above reads (the OutOfSampleRecord contract), checked here by the compiler.
    const record: BacktestRecord = { dates: d, returns: r, benchmark: bench, windows: champion.windows, metrics: summary, ...(challengers ? { challengers: { ...challengers, returns: { [challengers.champion]: r, ...challengerReturns } } } : {}), ...(parity ? { parity } : {}) };
    ctx.backtest = record;
    // A Sharpe ratio without variation (a flat record) is no number: a dash, for the champion and a challenger alike.
    const sharpe = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');
    env.log(`backtest: ${champion.windows.length} windows, ${isoFromDay(d[0])} to ${isoFromDay(d[d.length - 1])}, CAGR ${(metrics.cagr * 100).toFixed(1)}%, Sharpe ${Number.isFinite(metrics.sharpe) ? sharpe(metrics.sharpe) : '— (no variation: a flat record)'}, max drawdown ${(metrics.max_drawdown * 100).toFixed(1)}%${keys.length ? `; challengers ${keys.map((k) => `${k} Sharpe ${sharpe(challengerRecords[k]!.metrics.sharpe)}`).join(', ')}` : ''}`);
    return ctx;
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The calendar row of the first rebalance: the train_window-th day, or one later once train_window returns exist. */
const firstRebalance = (p: BacktestParams): number => (p.first_rebalance === 'after_train_returns' ? p.train_window : p.train_window - 1);

/**
 * What the symbols table tells of the calendar up to `asOf`: the most days it can have (calendar days since the first
 * bar, no more than all the symbols' bars together), the bars of the longest series (the calendar has at least as
 * many days, and most often as many: the days the longest series trades) and the symbols listed by then.
 */
function calendarBounds(u: Universe, asOf: number): { most: number; longest: number; symbols: number } {
  let first = Infinity;
  let bars = 0;
  let longest = 0;
  let symbols = 0;
  for (const s of u.symbols) {
    const f = dayFromIso(s.first_date);
    if (f > asOf) continue;
    first = Math.min(first, f);
    const held = Math.min(s.rows, Math.min(dayFromIso(s.last_date), asOf) - f + 1);
    bars += held;
    longest = Math.max(longest, held);
    symbols++;
  }
  return { most: Number.isFinite(first) ? Math.min(asOf - first + 1, bars) : 0, longest, symbols };
}

/**
 * Threads for the decisions, known before any is made, when the work is clearly large enough for workers to pay;
 * undefined: the first decision is timed (see `execute`). Known before, the dates go to the workers once ingestion
 * has run, while the stages before the backtest run (Stage.schedule). A decision's CPU grows with the candidates and
 * the window it reads: on the walk-forward bench (49 decisions, train 252), N=2000 (24.7 M) decides warm in 45-60 ms
 * and the timed rule takes a worker; N=500 (6.2 M) in 8-45 ms, and a worker does not pay (measured with its dates
 * handed out early: +0.6 CPU s, wall no better); the demo is 0.2 M. LARGE_WORK sits between, at N ≈ 1000 there.
 */
function threadsBefore(decisions: number, symbols: number, train: number): number | undefined {
  return decisions * symbols * train >= LARGE_WORK ? defaultThreads(decisions) : undefined;
}

/** One ranker's out-of-sample record for challengers.json. */
function rankerRecord(role: 'champion' | 'challenger', path: HeldPath, ppy: number, rf: number, finalWeights: { symbol: string; weight: number }[], bench?: Float64Array) {
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

/** orders.arrow, fills.arrow and cash.arrow: an order-level simulator's record, plain Arrow columns pandas reads as is. */
async function writeLedger(env: StageEnv, ledger: Ledger): Promise<void> {
  const o = ledger.orders;
  await env.artifacts.writeBytes('orders.arrow', await encodeColumns({
    order_id: { kind: 'int', values: Int32Array.from(o, (x) => x.id) },
    date: { kind: 'date', values: Int32Array.from(o, (x) => x.date) },
    symbol: { kind: 'string', values: o.map((x) => x.symbol) },
    side: { kind: 'string', values: o.map((x) => x.side) },
    kind: { kind: 'string', values: o.map((x) => x.kind) },
    quantity: { kind: 'float', values: Float64Array.from(o, (x) => x.quantity) },
    filled: { kind: 'float', values: Float64Array.from(o, (x) => x.filled) },
    reference_price: { kind: 'float', values: Float64Array.from(o, (x) => x.reference_price) },
    status: { kind: 'string', values: o.map((x) => x.status) },
    reason: { kind: 'string', values: o.map((x) => x.reason) },
  }));
  const f = ledger.fills;
  await env.artifacts.writeBytes('fills.arrow', await encodeColumns({
    order_id: { kind: 'int', values: Int32Array.from(f, (x) => x.order_id) },
    date: { kind: 'date', values: Int32Array.from(f, (x) => x.date) },
    at: { kind: 'string', values: f.map((x) => x.at) },
    symbol: { kind: 'string', values: f.map((x) => x.symbol) },
    side: { kind: 'string', values: f.map((x) => x.side) },
    quantity: { kind: 'float', values: Float64Array.from(f, (x) => x.quantity) },
    price: { kind: 'float', values: Float64Array.from(f, (x) => x.price) },
    reference_price: { kind: 'float', values: Float64Array.from(f, (x) => x.reference_price) },
    notional: { kind: 'float', values: Float64Array.from(f, (x) => x.notional) },
    commission: { kind: 'float', values: Float64Array.from(f, (x) => x.commission) },
    slippage: { kind: 'float', values: Float64Array.from(f, (x) => x.slippage) },
    cash_after: { kind: 'float', values: Float64Array.from(f, (x) => x.cash_after) },
  }));
  const c = ledger.cash;
  await env.artifacts.writeBytes('cash.arrow', await encodeColumns({
    date: { kind: 'date', values: c.date },
    cash: { kind: 'float', values: c.cash },
    long_value: { kind: 'float', values: c.long_value },
    short_value: { kind: 'float', values: c.short_value },
    equity: { kind: 'float', values: c.equity },
  }));
}

/** The first simulator (in registration order) of a model: a parity check's other side. */
function otherModel(env: StageEnv, model: SimulatorMeta['model']): string {
  const name = env.plugins.names('simulator').find((n) => env.plugins.meta<SimulatorMeta>('simulator', n).model === model);
  if (!name) throw new FractalError('PLUGIN_UNKNOWN', `a parity check needs a simulator that holds ${model}, and none is registered`);
  return name;
}

/** A simulator by name with its params' defaults (a parity check's other side, not named in the pipeline). */
function resolvedSimulator(env: StageEnv, name: string): HoldSettings['simulator'] {
  const instance = env.plugins.get<Simulator>('simulator', name);
  const schema = (instance.constructor as { meta?: { params?: { properties?: Record<string, { default?: unknown }> } } }).meta?.params?.properties ?? {};
  const params = Object.fromEntries(Object.entries(schema).filter(([, v]) => v.default !== undefined).map(([k, v]) => [k, v.default]));
  return { name, instance, params };
}

/** The policy stage's floor of names, `min_winners` (resolved, with its default), if the pipeline has a policy. */
function policyFloor(env: StageEnv): number | undefined {
  const floor = env.pipeline.config.stages.find((s) => s.type === 'policy')?.params.min_winners;
  return typeof floor === 'number' ? floor : undefined;
}

/** The allocation engine named in the pipeline (for the volatility band), if any. */
function engineOf(env: StageEnv): string | undefined {
  return refName(env.pipeline.config.stages.find((s) => s.type === 'allocation')?.params.engine);
}

/**
 * Why the backtest's past decisions did not draw from the universe as it was on their dates (empty: they did). A
 * live scanner knows only today's tickers; a candidates file is a list chosen today, with the names' later history
 * known (the survivors); a ranking by market cap reads a stored snapshot, today's ranks, not each date's.
 */
function universeNotPointInTime(env: StageEnv): string[] {
  const ingestion = env.pipeline.config.stages.find((st) => st.type === 'ingestion')?.params;
  if (!ingestion) return [];
  const scanner = ingestion.scanner;
  const name = refName(scanner);
  const out: string[] = [];
  if (name !== undefined && !env.plugins.meta<ScannerMeta>('scanner', name).pointInTime) out.push(`the ${name} scanner knows only today's tickers: every past decision starts from today's universe`);
  if (typeof ingestion.candidates_path === 'string') out.push(`the candidates come from a fixed list (${ingestion.candidates_path}), chosen with the names' later history known`);
  const scannerParams = (scanner && typeof scanner === 'object' ? (scanner as { params?: Record<string, unknown> }).params : undefined) ?? {};
  if (scannerParams.sort_by === 'market_cap_rank') out.push("the scanner ranks by market cap as stored (a snapshot, today's ranks), not as of each decision's date");
  return out;
}
