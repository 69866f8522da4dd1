/**
 * Allocation: an engine turns returns (of atoms when synthesis ran, else of symbols) into weights under bounds,
 * cluster caps, direction caps and an optional beta target, falling back through a declared list of engines.
 * The stage turns the context into arrays (the universe, bounds per asset, cluster caps, betas, net caps) and writes
 * what `allocate` (src/portfolio/allocate.ts: estimates, engines, fallbacks, checks) decides.
 * See docs/allocation.md for the estimators, the checks made before solving and the artifacts written.
 */
import { recordAdjustment, type MarketSource, type ReturnsMatrix, type SelectionContext } from '../../src/core/context.js';
import { isoFromDay } from '../../src/util/dates.js';
import { FractalError, inputError, runError, type ParamPath } from '../../src/core/errors.js';
import { bySymbol, ownMap, positions } from '../../src/util/keyed.js';
import { fraction, num, params, str, typed, type Static } from '../../src/core/params.js';
import type { PreflightEnv, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import { estimateCovariance } from '../../src/math/covariance-estimators.js';
import { riskContributions } from '../../src/math/risk-parity.js';
import { periodsPerYearFor } from '../../src/util/annualisation.js';
import { ALLOCATION_PARAMS, BOUND, CAP_PARAMS, REGIME_CAPS } from '../../src/portfolio/allocation-params.js';
import { allocate, clusterCaps, columnsWithReturns, engineChoices, type AllocationConstraints, type AssetReturns, type ClusterCaps, type Estimation } from '../../src/portfolio/allocate.js';
import { emptyBookProblem, portfolioVariance, type AllocationEngine, type AllocationProblem } from '../../src/portfolio/engine.js';

export const BETA_RELAXATION = [0.15, 0.25];

const PARAMS = params({
  ...ALLOCATION_PARAMS,
  symbol_bounds: typed<Record<string, [number, number]> | undefined>({ type: 'object', additionalProperties: BOUND, description: 'Per-symbol [lower, upper] overriding `bounds`.' }),
  cluster_cap: fraction('Largest total weight of one cluster (when a clustering stage ran).', 0.25),
  ...CAP_PARAMS,
  market_neutral: params({
    benchmark: str('Benchmark symbol for beta.'),
    tolerance: num('Largest |portfolio beta|; relaxed to 0.15 then 0.25 when infeasible.', 0.05, { min: 0 }),
  }, { required: ['benchmark'] }),
});
export type AllocationParams = Static<typeof PARAMS>;

export class AllocationStage implements Stage<SelectionContext, AllocationParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'allocation',
    description: 'Allocates weights with an engine under bounds, cluster, direction and beta constraints, with declared fallbacks.',
    documents: ['selection'],
    requires: ['returns'],
    reads: ['atoms', 'winners', 'clusters', 'scores', 'regime'],
    provides: ['weights'],
    // A date on which the policy let nothing through, or none of its winners has two returns to allocate on.
    // A date before market_neutral's benchmark has returns to estimate betas on (not listed yet) holds cash too.
    cashOn: { NO_WINNERS: 'no winners', EMPTY_UNIVERSE: 'no winner with two returns', BENCHMARK_NO_HISTORY: 'benchmark without history' },
    params: PARAMS,
  };

  /**
   * Bounds and names checked against the most the run can see (the venue's symbols) before anything runs: a
   * bound for a symbol the venue does not have, or caps that cannot hold the budget even on the whole venue.
   */
  preflight(p: AllocationParams, env: PreflightEnv): FractalError[] {
    const out: FractalError[] = [];
    const [lb0, ub0] = p.bounds ?? [0, 1];
    const budget = p.budget ?? 1;
    if (lb0 > ub0) out.push(inputError('BAD_BOUNDS', `allocation: bounds are [${lb0}, ${ub0}], lower above upper`, undefined, { param: ['bounds'] }));
    const symbolBounds = ownMap(p.symbol_bounds);
    const empty = emptyBookProblem(budget, [[lb0, ub0], ...symbolBounds.values()]);
    if (empty) out.push(empty);
    for (const [s, [lo, hi]] of symbolBounds) if (lo > hi) out.push(inputError('BAD_BOUNDS', `allocation: bounds of ${s} are [${lo}, ${hi}], lower above upper`, undefined, { param: ['symbol_bounds', s] }));
    const u = env.universe;
    if (!u) return out;
    const names = new Set(u.symbols.map((s) => s.symbol));
    // An atom id is <symbol>_<logic>_<direction>: a bound may name one of a symbol on the venue.
    const known = (s: string) => names.has(s) || u.symbols.some((x) => s.startsWith(`${x.symbol}_`));
    const unknown = [...symbolBounds.keys()].filter((s) => !known(s));
    if (unknown.length)
      out.push(inputError('UNKNOWN_SYMBOL', `allocation.symbol_bounds names symbols that are not on venue ${u.venue}: ${unknown.join(', ')}`, `Venue ${u.venue} has ${names.size} symbols, e.g. ${[...names].slice(0, 5).join(', ')}.`, { param: ['symbol_bounds', unknown[0]], paramKey: true }));
    const mn = p.market_neutral;
    if (mn?.benchmark !== undefined && !names.has(mn.benchmark))
      out.push(inputError('UNKNOWN_SYMBOL', `allocation.market_neutral.benchmark '${mn.benchmark}' is not on venue ${u.venue}`, undefined, { param: ['market_neutral', 'benchmark'] }));
    // Even every symbol of the venue at its cap cannot reach the budget: no universe the run finds will.
    let capacity = 0;
    for (const s of names) capacity += symbolBounds.get(s)?.[1] ?? ub0;
    if (budget > 0 && capacity < budget - 1e-12)
      out.push(inputError('CAPS_BELOW_BUDGET', `allocation: even all ${names.size} symbols of venue ${u.venue} at their caps hold ${capacity}, below the budget ${budget}`, 'Raise the cap (bounds) or widen the universe.', { param: ['bounds'] }));
    const engines = [p.engine, ...(p.fallback ?? [])];
    engines.forEach((ref, k) => {
      const engine = env.plugins.get<AllocationEngine>('engine', ref.name);
      for (const e of engine.preflight?.(ref.params ?? {}, u) ?? []) out.push(e.underParam(k === 0 ? ['engine', 'params'] : ['fallback', k - 1, 'params']));
    });
    return out;
  }

  async execute(ctx: SelectionContext, p: AllocationParams, env: StageEnv): Promise<SelectionContext> {
    const useAtoms = !!(ctx.atoms && ctx.atom_returns);
    // The universe: the atoms when synthesis ran, else the policy's winners whenever a policy ran, else every
    // candidate. A policy's verdict is never ignored for want of a synthesis stage.
    const source: 'atoms' | 'winners' | 'candidates' = useAtoms ? 'atoms' : ctx.winners ? 'winners' : 'candidates';
    const data: ReturnsMatrix | undefined = useAtoms ? ctx.atom_returns : ctx.returns && ctx.winners ? onlyColumns(ctx.returns, ctx.winners) : ctx.returns;
    if (!data) throw runError('NO_RETURNS', 'allocation needs returns; the ingestion stage provides them');
    const T = data.dates.length;
    const cov_p: Partial<NonNullable<AllocationParams['covariance']>> = p.covariance ?? {};
    const estimator = cov_p.estimator ?? 'sample';
    const missing = cov_p.missing ?? 'pairwise';
    const erMethod = p.expected_returns?.method ?? 'mean';
    const budget = p.budget ?? 1;
    const rf = p.risk_free_rate ?? 0;
    const atomById = new Map((ctx.atoms ?? []).map((a) => [a.id, a]));
    const physical = (id: string) => (useAtoms ? atomById.get(id)?.symbol ?? id : id);
    const pool = bySymbol(ctx.raw_pool ?? []);
    const periods = p.periods_per_year ?? (data.symbols.length ? Math.max(...data.symbols.map((s) => periodsPerYearFor(pool.get(physical(s))))) : 252);

    // Universe: columns with at least two observations.
    const keep = columnsWithReturns(data.values, data.symbols.length, T);
    const kept = new Set(keep);
    const droppedNames = data.symbols.filter((_, j) => !kept.has(j));
    if (data.symbols.length === 0)
      throw runError('NO_WINNERS', 'allocation: the policy stage left no winners (every candidate was vetoed or ineligible)', 'See the policy stage\'s veto records (audit.jsonl, or `pipeline-run trace <run> <symbol>`) and loosen the filters or widen the universe.');
    if (keep.length === 0) throw runError('EMPTY_UNIVERSE', `allocation: none of the ${data.symbols.length} winners has at least two returns`);
    const symbols = keep.map((j) => data.symbols[j]!);
    const n = symbols.length;
    const values = new Float64Array(n * T);
    keep.forEach((j, k) => values.set(data.values.subarray(j * T, (j + 1) * T), k * T));

    // Constraints, checked against the universe before anything is solved.
    const [lb0, ub0] = p.bounds ?? [0, 1];
    const lb = new Float64Array(n).fill(lb0);
    const ub = new Float64Array(n).fill(ub0);
    // Keyed by symbols users name: a Map, so a symbol called `constructor` or `__proto__` is just a symbol.
    const symbolBounds = ownMap(p.symbol_bounds);
    // A bound for a candidate the policy left out (on this date) simply does not apply, nor does one for a symbol
    // the scanner found but dropped on this date (not listed yet, delisted, illiquid: its funnel names it); one for
    // a name the scanner never saw is a mistake in the params. A name judged on the date's candidates alone would
    // fail a run whose bound names a coin delisted later, and so change a meta's earlier days when data is appended.
    const dropped = (ctx.discovery_funnel ?? []).flatMap((f) => (f.dropped ?? []).map((d) => d.symbol));
    const seen = symbolBounds.size ? new Set([...symbols, ...symbols.map(physical), ...(ctx.raw_pool ?? []).map((c) => c.symbol), ...(ctx.returns?.symbols ?? []), ...dropped]) : undefined;
    const unknown = seen ? [...symbolBounds.keys()].filter((s) => !seen.has(s)) : [];
    if (unknown.length) throw inputError('UNKNOWN_SYMBOL', `allocation.symbol_bounds names symbols the run never saw: ${unknown.join(', ')}`, `The candidates are ${[...new Set((ctx.raw_pool ?? []).map((c) => c.symbol))].slice(0, 5).join(', ')}${(ctx.raw_pool?.length ?? 0) > 5 ? ', …' : ''}.`, { param: ['symbol_bounds', unknown[0]], paramKey: true });
    const boundsParam = (s: string): ParamPath => (symbolBounds.has(s) ? ['symbol_bounds', s] : symbolBounds.has(physical(s)) ? ['symbol_bounds', physical(s)] : ['bounds']);
    symbols.forEach((s, i) => {
      const b = symbolBounds.get(s) ?? symbolBounds.get(physical(s));
      if (b) { lb[i] = b[0]; ub[i] = b[1]; }
      if (lb[i]! > ub[i]!) throw inputError('BAD_BOUNDS', `allocation: bounds of ${s} are [${lb[i]}, ${ub[i]}], lower above upper`, undefined, { param: boundsParam(s) });
    });
    const empty = emptyBookProblem(budget, Array.from(lb, (x, i): [number, number] => [x, ub[i]!]));
    if (empty) throw empty;
    const sumLb = lb.reduce((a, b) => a + b, 0);
    const sumUb = ub.reduce((a, b) => a + b, 0);
    if (sumLb > budget + 1e-12) throw inputError('MINIMUMS_ABOVE_BUDGET', `allocation: the lower bounds sum to ${sumLb}, above the budget ${budget}`, undefined, { param: symbolBounds.size && lb0 * n <= budget ? ['symbol_bounds'] : ['bounds'] });
    if (sumUb < budget - 1e-12) throw inputError('CAPS_BELOW_BUDGET', `allocation: the upper bounds sum to ${sumUb}, below the budget ${budget}${symbolBounds.size ? '' : ` (a cap of ${ub0} on ${n} assets is below 1/N = ${(1 / n).toFixed(4)})`}`, 'Raise the cap or widen the universe.', { param: ['bounds'] });
    const dc = p.direction_caps ?? {};
    if (dc.gross !== undefined && Math.abs(budget) > dc.gross) throw inputError('GROSS_CAP_BELOW_BUDGET', `allocation: |budget| ${Math.abs(budget)} exceeds the gross direction cap ${dc.gross}`, undefined, { param: ['direction_caps', 'gross'] });
    // With long-only weights gross = net = budget; shorting symbols directly (negative bounds) under a gross cap
    // is not something the engines can solve yet: refused up front, never silently exceeded.
    if (dc.gross !== undefined && lb.some((x) => x < 0))
      throw inputError('GROSS_CAP_UNSUPPORTED', `allocation: a gross direction cap (${dc.gross}) with negative bounds is not supported by the engines yet`, 'Express shorts as SHORT atoms (synthesis direction: SHORT or BOTH), whose book keeps gross = budget, or drop the gross cap.', { param: ['direction_caps', 'gross'] });
    let groups: AllocationProblem['groups'] = [];
    let capRecord: ClusterCaps['record'] | undefined;
    if (ctx.clusters) {
      const requested = p.cluster_cap ?? 0.25;
      const regimeCaps: Record<string, number> = { ...REGIME_CAPS, ...Object.fromEntries(Object.entries(p.regime_caps ?? {}).map(([k, v]) => [k.toUpperCase(), v])) };
      const regimeCap = ctx.regime ? regimeCaps[ctx.regime] : undefined;
      const { symbols: clustered, labels } = ctx.clusters;
      const labelOf = (s: string) => {
        const i = positions(clustered).get(s);
        return i === undefined ? undefined : labels[i];
      };
      const caps = clusterCaps(symbols.map((s) => labelOf(physical(s))), ub, budget, requested, ctx.regime, regimeCap, p.on_infeasible_caps);
      if ('refused' in caps)
        throw runError('CLUSTER_CAPS_INFEASIBLE', `allocation${ctx.as_of !== undefined ? ` as of ${isoFromDay(ctx.as_of)}` : ''}: ${caps.refused} (on_infeasible_caps: refuse)`, 'Set on_infeasible_caps: relax (the cap rises to 1/k, recorded), raise cluster_cap or regime_caps, or cut the tree into more clusters.', { param: ['on_infeasible_caps'] });
      if (caps.relaxed) {
        // Fewer clusters than 1/cap (a highly correlated pool) cannot hold the budget under the cap: by the declared
        // rule the cap rose to an equal share per cluster, recorded.
        const { from, to, clusters, reason } = caps.relaxed;
        const adjustment = { stage: 'allocation', kind: 'cluster_cap_relaxed', rule: 'equal_share', from, to, clusters, regime: ctx.regime ?? null, reason };
        env.audit.event('allocation', 'cluster_cap_relaxed', adjustment);
        recordAdjustment(ctx, adjustment);
        env.log(`allocation: cluster cap raised from ${from} to ${to.toFixed(4)} (${clusters} clusters)`);
      }
      groups = caps.groups;
      capRecord = caps.record;
      const cap = caps.record.applied;
      if (caps.capacity < budget - 1e-12) {
        throw inputError('CLUSTER_CAPS_BELOW_BUDGET', `allocation: ${groups.length} clusters capped at ${cap} can hold at most ${caps.capacity.toFixed(4)}, below the budget ${budget}`, 'Raise cluster_cap, widen the bounds or widen the universe.', { param: ['cluster_cap'] });
      }
      env.audit.event('allocation', 'cluster_caps', { clusters: groups.length, cap, requested, regime: ctx.regime ?? null, regime_cap: regimeCap ?? null });
    }

    // Market neutrality: beta of each asset to the benchmark (pairwise, as the covariance).
    const mn = p.market_neutral;
    let beta: Float64Array | undefined;
    if (mn) {
      const src = ctx.returns ?? data;
      const b = src.symbols.indexOf(mn.benchmark);
      const ST = src.dates.length;
      let bench: Float64Array;
      if (b >= 0) bench = src.values.subarray(b * ST, (b + 1) * ST);
      else if (ctx.market?.assetType(mn.benchmark) !== undefined && ST > 0) {
        // Not a candidate on this date (not listed yet, delisted, below a liquidity floor) but on the venue: its
        // returns over the window, read as the candidates' are (same venue, same toxic rule), on their axis.
        bench = await benchmarkReturns(ctx.market, mn.benchmark, src.dates);
      } else throw inputError('UNKNOWN_SYMBOL', `allocation.market_neutral.benchmark '${mn.benchmark}' is not in the returns`, undefined, { param: ['market_neutral', 'benchmark'] });
      // A beta needs the benchmark's variance and its covariance with the asset: a benchmark not yet listed for
      // most of the window (a backtest's first decisions) has fewer than two returns, and its NaN beta would make
      // every engine's weights "break a constraint by NaN". Said as what it is, with the window.
      const window = ST ? `${isoFromDay(src.dates[0]!)} to ${isoFromDay(src.dates[ST - 1]!)}` : 'an empty window';
      const noHistory = (why: string) =>
        inputError('BENCHMARK_NO_HISTORY', `allocation.market_neutral.benchmark '${mn.benchmark}' ${why} in the decision's window (${window}, ${ST} days): no beta can be estimated`, undefined, { param: ['market_neutral', 'benchmark'], details: { benchmark: mn.benchmark, window_start: ST ? isoFromDay(src.dates[0]!) : null, window_end: ST ? isoFromDay(src.dates[ST - 1]!) : null } });
      let benchDays = 0;
      for (let t = 0; t < ST; t++) if (bench[t] === bench[t]) benchDays++;
      if (benchDays < 2) throw noHistory(`has ${benchDays} return${benchDays === 1 ? '' : 's'} (at least 2 are needed)`);
      const betas = new Float64Array(n);
      symbols.forEach((s, i) => {
        const j = src === data ? keep[i]! : src.symbols.indexOf(physical(s));
        // A SHORT atom's beta is its symbol's, negated (the atoms' own returns, when they are all there is, are signed).
        const sign = src !== data && useAtoms && atomById.get(s)?.direction === 'SHORT' ? -1 : 1;
        const col = src.values.subarray(j * ST, (j + 1) * ST);
        let common = 0;
        for (let t = 0; t < ST; t++) if (col[t] === col[t] && bench[t] === bench[t]) common++;
        if (common < 2) throw noHistory(`shares ${common} day${common === 1 ? '' : 's'} of returns with ${physical(s)} (at least 2 are needed)`);
        const pair = new Float64Array(2 * ST);
        pair.set(col, 0);
        pair.set(bench, ST);
        const c = estimateCovariance({ values: pair, nSymbols: 2, nDays: ST }, { estimator: 'sample', missing: 'pairwise' }).cov;
        if (!(c[3]! > 0)) throw noHistory(`has returns that do not vary (variance ${c[3]})`);
        betas[i] = (sign * c[1]!) / c[3]!;
      });
      beta = betas;
    }

    // A net direction cap on a book of LONG and SHORT atoms: |Σ LONG weights − Σ SHORT weights| <= net.
    const netCaps: AllocationProblem['linear'] = [];
    const sign = Float64Array.from(symbols, (s) => (useAtoms && atomById.get(s)?.direction === 'SHORT' ? -1 : 1));
    // Without SHORT atoms the net exposure is the budget itself.
    if (dc.net !== undefined && !sign.some((x) => x < 0) && Math.abs(budget) > dc.net) throw inputError('NET_CAP_BELOW_BUDGET', `allocation: |budget| ${Math.abs(budget)} exceeds the net direction cap ${dc.net}`, undefined, { param: ['direction_caps', 'net'] });
    if (dc.net !== undefined && sign.some((x) => x < 0)) {
      netCaps.push({ name: 'net_max', a: sign, b: dc.net }, { name: 'net_min', a: sign.map((x) => -x), b: dc.net });
      env.audit.event('allocation', 'direction_caps', { net: dc.net, long_atoms: sign.filter((x) => x > 0).length, short_atoms: sign.filter((x) => x < 0).length });
    }
    const refs = [p.engine, ...(p.fallback ?? [])];
    const tolerance = mn ? mn.tolerance ?? 0.05 : undefined;
    const constraints: AllocationConstraints = {
      budget, lb, ub, groups, linear: netCaps, ...(dc.gross !== undefined ? { gross: dc.gross } : {}),
      ...(beta && tolerance !== undefined ? { beta: { beta, tolerances: [tolerance, ...BETA_RELAXATION.filter((t) => t > tolerance)] } } : {}),
    };
    const assets: AssetReturns = { values, days: T, symbols, physical: symbols.map(physical), ...withConviction(convictionFor(ctx, symbols, physical)) };
    const estimation: Estimation = { estimator, missing, halflife: cov_p.halflife, periods, expectedReturns: erMethod, riskFreeRate: rf };
    const chosen = allocate(assets, constraints, engineChoices(refs, env.plugins), estimation, (event, data) => env.audit.event('allocation', event, data));
    const attempts = chosen.attempts;
    // The decision's date: a backtest replays this stage once per window, and a failure there names its window.
    const asOf = ctx.as_of !== undefined ? isoFromDay(ctx.as_of) : undefined;
    const at = asOf !== undefined ? ` as of ${asOf}` : '';
    if (chosen.engine === null && attempts.every((a) => a.code === 'TOO_FEW_OBSERVATIONS'))
      throw runError('TOO_FEW_OBSERVATIONS', `allocation${at}: ${attempts.map((a) => a.error).join('; ')}`, undefined, { details: { days: T, assets: n, ...(asOf !== undefined ? { as_of: asOf } : {}) } });
    if (chosen.engine === null) {
      throw runError('ALLOCATION_FAILED', `allocation${at}: every engine failed (${attempts.map((a) => `${a.engine}: ${a.error}`).join('; ')})`, refs.length === 1 ? 'declare a fallback, e.g. fallback: [equal_weight]' : undefined, asOf !== undefined ? { details: { as_of: asOf } } : {});
    }
    const engineName = chosen.engine;
    if (engineName !== refs[0]!.name) {
      // Said where a person sees it, with why: a fallback's weights are not the requested engine's.
      const why = attempts.find((a) => a.engine === refs[0]!.name);
      env.audit.event('allocation', 'fallback_used', { requested: refs[0]!.name, used: engineName, ...(why ? { code: why.code, error: why.error } : {}) });
      env.log(`allocation: ${refs[0]!.name} gave no usable weights${why ? ` (${why.code ?? 'error'}: ${why.error})` : ''}; the fallback ${engineName} decided`);
    }
    // Which engine produced the weights: the backtest records it per rebalance.
    ctx.allocation_engine = engineName;
    for (const a of chosen.adjustments) {
      const adjustment = { stage: 'allocation', engine: engineName, ...a };
      env.audit.event('allocation', a.kind, adjustment);
      recordAdjustment(ctx, adjustment);
    }
    if (chosen.betaTolerance !== undefined && mn && chosen.betaTolerance !== (mn.tolerance ?? 0.05))
      recordAdjustment(ctx, { stage: 'allocation', kind: 'beta_relaxed', from: mn.tolerance ?? 0.05, to: chosen.betaTolerance });
    const { cov, mu } = chosen.estimates;

    const w = chosen.weights;
    const variance = portfolioVariance(cov, n, w);
    const er = w.reduce((s, x, i) => s + x * mu[i]!, 0);
    const vol = Math.sqrt(Math.max(0, variance));
    const rc = riskContributions(cov, n, w);
    // Net atoms into physical weights: a SHORT atom's weight is short exposure.
    const net = new Map<string, number>();
    symbols.forEach((s, i) => {
      const atom = useAtoms ? atomById.get(s) : undefined;
      const signed = atom?.direction === 'SHORT' ? -w[i]! : w[i]!;
      net.set(physical(s), (net.get(physical(s)) ?? 0) + signed);
    });
    ctx.weights = [...net].map(([symbol, weight]) => ({ symbol, weight, direction: weight < 0 ? ('SHORT' as const) : ('LONG' as const) }));
    await env.artifacts.writeJson('weights.json', ctx.weights);
    const atomWeights = useAtoms ? symbols.map((id, i) => ({ ...(atomById.get(id) ?? { id }), weight: w[i]! })) : undefined;
    if (atomWeights) await env.artifacts.writeJson('atoms.json', atomWeights);
    const metrics = {
      // The weights this block describes (a backtest rewrites the block with its own as-of decision: weights.json's).
      weights: Object.fromEntries(ctx.weights.map((x) => [x.symbol, x.weight])),
      engine: engineName,
      requested_engine: refs[0]!.name,
      fallback_used: engineName !== refs[0]!.name,
      attempts,
      expected_return: er,
      volatility: vol,
      sharpe: vol > 0 ? (er - rf) / vol : null,
      risk_free_rate: rf,
      periods_per_year: periods,
      risk_contributions: Object.fromEntries(symbols.map((s, i) => [s, rc[i]!])),
      covariance: { estimator, missing, ...(chosen.estimates.shrinkage !== undefined ? { ledoit_wolf_shrinkage: chosen.estimates.shrinkage } : {}), regularisation: chosen.estimates.regularisation, ...(chosen.estimates.regularisationReason ? { regularisation_reason: chosen.estimates.regularisationReason } : {}) },
      expected_returns: erMethod,
      universe: { assets: n, atoms: useAtoms, source, dropped: droppedNames },
      ...(chosen.betaTolerance !== undefined ? { beta_tolerance: chosen.betaTolerance, portfolio_beta: w.reduce((s, x, i) => s + x * beta![i]!, 0) } : {}),
      ...(capRecord ? { cluster_cap: capRecord } : {}),
      adjustments: ctx.adjustments ?? [],
      diagnostics: chosen.diagnostics,
    };
    ctx.allocation_record = { metrics, ...(atomWeights ? { atoms: atomWeights } : {}) };
    await env.artifacts.writeJsonSection('metrics.json', 'allocation', metrics);
    env.audit.event('allocation', 'weights_allocated', {
      engine: engineName, requested_engine: refs[0]!.name, fallback_used: metrics.fallback_used, assets: n,
      expected_return: er, volatility: vol, sharpe: metrics.sharpe, artifact: 'weights.json',
    });
    return ctx;
  }
}

/** The columns of `m` named in `keep`, in m's order (the policy's winners out of every candidate's returns). */
function onlyColumns(m: ReturnsMatrix, keep: string[]): ReturnsMatrix {
  const wanted = new Set(keep);
  const T = m.dates.length;
  const cols = m.symbols.flatMap((s, j) => (wanted.has(s) ? [j] : []));
  const values = new Float64Array(cols.length * T);
  cols.forEach((j, k) => values.set(m.values.subarray(j * T, (j + 1) * T), k * T));
  return { dates: m.dates, symbols: cols.map((j) => m.symbols[j]!), values };
}

/** A symbol's returns from the market over [dates[0], dates[last]], on `dates` (NaN where it has none). */
async function benchmarkReturns(market: MarketSource, symbol: string, dates: ArrayLike<number>): Promise<Float64Array> {
  const T = dates.length;
  const out = new Float64Array(T).fill(NaN);
  let m: ReturnsMatrix;
  try {
    m = await market.readReturns({ symbols: [symbol], start: dates[0]!, end: dates[T - 1]!, allowEmpty: true });
  } catch (e) {
    // The venue has the symbol (the caller checked): no bar of it in the window at all.
    if (e instanceof FractalError && e.code === 'LAKEHOUSE_MISSING_DATA') return out;
    throw e;
  }
  const row = new Map<number, number>();
  for (let t = 0; t < T; t++) row.set(dates[t]!, t);
  m.dates.forEach((d, t) => {
    const k = row.get(d);
    if (k !== undefined) out[k] = m.values[t]!;
  });
  return out;
}

/** The conviction field of the assets, when a ranker ran. */
const withConviction = (conviction: Float64Array | undefined): Pick<AssetReturns, 'conviction'> => (conviction ? { conviction } : {});

function convictionFor(ctx: SelectionContext, symbols: string[], physical: (s: string) => string): Float64Array | undefined {
  const s = ctx.champion ? ctx.scores?.[ctx.champion] : undefined;
  if (!s) return undefined;
  const idx = positions(s.symbols);
  return Float64Array.from(symbols, (x) => {
    const i = idx.get(x) ?? idx.get(physical(x));
    return i === undefined ? -Infinity : s.conviction[i]!;
  });
}
