/**
 * tournament_compare: the cells compared out of sample, on the days every cell that ran has a walk-forward return
 * (one aligned calendar): per-cell metrics, stationary-bootstrap percentile intervals (one set of resampled days for
 * every cell: paired), P(Sharpe > champion's), the Ledoit–Wolf test of each Sharpe difference with the champion,
 * PSR and DSR with this tournament's own trial count, and PBO by CSCV. Writes tournament.json and
 * cell_returns.arrow. The statistics are the pure functions of src/math (docs/tournaments.md says what each means
 * and when not to trust it). Every cell is measured on one basis, whatever its own backtest's settings: simple daily
 * returns, risk-free rate 0, the largest of the cells' periods a year; tournament.json records that basis and, per
 * cell, its own figures and what of their basis differs. The calendar may start later than the cells' common first
 * day (`start`, a date the user gives; the report suggests one read from the cells' decisions, never their returns).
 */
import { holm } from '../../src/math/multiple-testing.js';
import type { CellComparison, CellOutcome, Comparison, TournamentContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { dict } from '../../src/util/keyed.js';
import { bool, date, int, num, params, typed, type Static } from '../../src/core/params.js';
import { inject } from 'inversify';
import { type ChildRuns, SERVICE, type Stage, type StageEnv, type StageMeta } from '../../src/core/plugin.js';
import { tournamentOf } from '../../src/core/resolved-config.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';
import { holdingsFloor, ownBasis } from './basis.js';
import { optimalBlockLength, pairedBootstrap } from '../../src/math/bootstrap.js';
import { computeMetrics } from '../../src/math/metrics.js';
import { cscvOfVarying, MAX_BLOCKS } from '../../src/math/pbo.js';
import { deflatedSharpe, deflatedThreshold, probabilisticSharpe, sampleMoments, sharpeVariance } from '../../src/math/probabilistic-sharpe.js';
import { encodeColumns } from '../../src/runs/arrow.js';
import { canonicalJson, sha256 } from '../../src/util/hash.js';
import { codeFingerprint, readEntry, writeEntry } from '../../src/runs/result-cache.js';

const PARAMS = params({
  bootstrap: params(
    {
      resamples: int('Bootstrap resamples B.', 2000, { min: 100, max: 1_000_000 }),
      block_length: typed<'auto' | number>({
        description: "Mean block length of the stationary bootstrap: 'auto' (the median over the cells of Politis & White's, corrected 2009), or a number of days (1 is the iid bootstrap).",
        anyOf: [{ const: 'auto' }, { type: 'number', minimum: 1 }],
        default: 'auto',
      }),
      seed: int('Seed of the resamples (resample b draws from its own stream of it).', 7, { min: 0 }),
      confidence: num('Confidence level of the percentile intervals.', 0.95, { exclusiveMin: 0.5, max: 0.999 }),
    },
    { default: {}, description: 'The stationary bootstrap (Politis & Romano 1994).' },
  ),
  cscv_blocks: { ...int('Blocks S of the CSCV for PBO (even): C(S, S/2) splits of the calendar.', 16, { min: 2, max: MAX_BLOCKS }), multipleOf: 2 },
  ledoit_wolf: params({ prewhiten: bool('VAR(1) prewhitening of the HAC estimate (Andrews & Monahan 1992), as the authors\' code does.', true) }, { default: {}, description: 'The Ledoit & Wolf (2008) HAC test of each Sharpe difference with the champion.' }),
  start: date("The comparison's first day (YYYY-MM-DD): every statistic on the cells' common days from it on; the cells still run their whole walk-forward. When the report says the cells' first decisions picked fewer names than the policy's floor, the date it gives (read from the decisions, never from returns). The cells' first common day when omitted."),
});
export type TournamentCompareParams = Static<typeof PARAMS>;

export class TournamentCompareStage implements Stage<TournamentContext, TournamentCompareParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'tournament_compare',
    description: "Compares the cells on their out-of-sample returns: metrics, paired stationary-bootstrap intervals, P(beats champion), Ledoit-Wolf test, PSR, DSR, PBO; writes tournament.json and cell_returns.arrow.",
    documents: ['tournament'],
    requires: ['cells'],
    provides: ['comparison'],
    params: PARAMS,
  };

  constructor(@inject(SERVICE.ChildRuns) private readonly childRuns: ChildRuns) {}

  async execute(ctx: TournamentContext, p: TournamentCompareParams, env: StageEnv): Promise<TournamentContext> {
    const t = tournamentOf(env.pipeline.config);
    const bs = p.bootstrap;
    const S = p.cscv_blocks;
    const prewhiten = p.ledoit_wolf.prewhiten;
    const cells = ctx.cells ?? [];
    const ran = cells.filter((c) => c.outcome === 'succeeded' && c.result);

    // One calendar: the days every cell that ran has a finite out-of-sample return.
    const perCell = ran.map((c) => {
      const m = new Map<number, number>();
      c.result!.dates.forEach((d, i) => {
        if (Number.isFinite(c.result!.returns[i])) m.set(d, c.result!.returns[i]);
      });
      return m;
    });
    const from = p.start === undefined ? -Infinity : dayFromIso(p.start);
    const dates = Int32Array.from([...perCell[0].keys()].filter((d) => d >= from && perCell.every((m) => m.has(d))).sort((a, b) => a - b));
    const T = dates.length;
    const N = ran.length;
    if (T < 3)
      throw runError(
        'TOURNAMENT_NO_COMMON_DAYS',
        `the cells that ran share ${T} day(s) of out-of-sample returns${p.start === undefined ? '' : ` from statistics.start ${p.start}`}`,
        p.start === undefined ? "Cells are compared on the days they all have: check the cells' backtest periods (cells.json lists each cell's days)." : "Cells are compared on the days they all have from statistics.start on: choose an earlier start (cells.json lists each cell's days).",
      );
    const values = new Float64Array(T * N);
    perCell.forEach((m, j) => dates.forEach((d, i) => (values[j * T + i] = m.get(d)!)));
    const ppy = Math.max(...ran.map((c) => c.result!.periods_per_year));
    const champ = ran.findIndex((c) => c.id === t.champion);

    // The statistics are a pure function of the cells' results (their keys), this stage's params and the champion:
    // when every cell has a key, they are kept in the result cache and an unchanged tournament reads them back.
    const statsKey = ran.every((c) => c.key)
      ? sha256(canonicalJson({ params: p, champion: t.champion, cells: ran.map((c) => [c.id, c.key]), code: codeFingerprint() }))
      : undefined;
    const known = statsKey && this.childRuns.useCache ? readEntry<Statistics>(this.childRuns.runsRoot, 'comparisons', statsKey) : undefined;
    // The Ledoit-Wolf test's matrix algebra (ml-matrix, a sixth of the stages' code) loads only when it is needed, not
    // with the stages every run loads.
    const computed = known ?? statistics(values, T, N, ran, champ, ppy, bs, S, prewhiten, env, (await import('../../src/math/sharpe-difference.js')).sharpeDifferenceTest);
    if (statsKey && !known) writeEntry(this.childRuns.runsRoot, 'comparisons', statsKey, computed);
    const { meanBlock, variance, threshold, pbo } = computed;
    const stats = new Map(Object.entries(computed.cells));
    // Ranked by the annualised Sharpe ratio on the common calendar (ties: the tournament's order).
    const order = [...ran].sort((a, b) => (stats.get(b.id)!.metrics!.sharpe || -Infinity) - (stats.get(a.id)!.metrics!.sharpe || -Infinity));
    const rank = new Map(order.map((c, i) => [c.id, i + 1]));
    // The policy's floor of each cell (its own config: an axis may change it), against its decisions on the calendar.
    const floorOf = (id: string): number | undefined => {
      const policy = this.childRuns.cellSpec(id)?.config.stages.find((s) => s.type === 'policy');
      const v = policy?.params.min_winners;
      return typeof v === 'number' ? v : undefined;
    };
    const floor = holdingsFloor(ran.map((c) => ({ id: c.id, floor: floorOf(c.id), record: c.result!.record })), dates);
    const json: Comparison = {
      name: env.pipeline.name,
      base: { file: t.base.file, kind: t.base.kind, config_hash: t.base.config_hash },
      champion: t.champion,
      periods_per_year: ppy,
      basis: { returns: 'simple', risk_free_rate: 0, periods_per_year: ppy, periods_per_year_rule: "the largest of the cells' periods_per_year" },
      calendar: { first: isoFromDay(dates[0]), last: isoFromDay(dates[T - 1]), days: T, start: p.start ?? null },
      holdings_floor: floor,
      bootstrap: { method: 'stationary', block_length: meanBlock, block_length_rule: bs.block_length === 'auto' ? 'median of the cells\' Politis-White (2004, corrected 2009) lengths' : 'given', resamples: bs.resamples, seed: bs.seed, confidence: bs.confidence },
      sharpe_test: { method: 'ledoit_wolf_hac', kernel: 'parzen', prewhitening: prewhiten, against: t.champion },
      deflation: { trials: N, sharpe_variance: variance, threshold_sharpe: threshold },
      pbo,
      cells: cells.map((c) => ({
        id: c.id,
        overrides: c.overrides,
        config_hash: c.config_hash,
        run: c.run,
        outcome: c.outcome,
        ...(c.error ? { error: c.error } : {}),
        rank: rank.get(c.id) ?? null,
        ...(stats.get(c.id) ?? { metrics: null, intervals: null, psr: null, dsr: null, p_beats_champion: null, sharpe_test: null }),
        point_in_time: c.result?.record?.point_in_time ?? null,
        ...ownBasis(c.result?.record, ppy),
      })),
    };
    await env.artifacts.writeJson('tournament.json', json);
    const cols: Record<string, { kind: 'date'; values: Int32Array } | { kind: 'float'; values: Float64Array }> = { date: { kind: 'date', values: dates } };
    ran.forEach((c, j) => (cols[c.id] = { kind: 'float', values: values.slice(j * T, (j + 1) * T) }));
    await env.artifacts.writeBytes('cell_returns.arrow', await encodeColumns(cols));
    ctx.comparison = { json, dates, ids: ran.map((c) => c.id), values, ...(statsKey ? { key: statsKey } : {}) };
    env.audit.event('tournament_compare', 'compared', { cells: N, days: T, block_length: meanBlock, pbo: pbo.value, best: order[0]?.id, champion: t.champion, statistics: known ? 'from the cache' : 'computed', ...(statsKey ? { key: statsKey } : {}) });
    env.log(`compare: ${N} cells on ${T} common days (${isoFromDay(dates[0])} to ${isoFromDay(dates[T - 1])}); best ${order[0].id} (Sharpe ${Number(stats.get(order[0].id)!.metrics!.sharpe).toFixed(2)}), champion ${t.champion}; PBO ${pbo.value === null ? 'n/a' : pbo.value.toFixed(2)}`);
    return ctx;
  }
}

/** What tournament_compare computes from the aligned returns (everything in tournament.json but names and runs). */
interface Statistics {
  meanBlock: number;
  variance: number;
  threshold: number;
  pbo: Comparison['pbo'];
  cells: Record<string, Omit<CellComparison, 'id' | 'overrides' | 'config_hash' | 'run' | 'outcome' | 'rank' | 'point_in_time' | 'own_record' | 'basis_differs'>>;
}

function statistics(
  values: Float64Array, T: number, N: number, ran: CellOutcome[], champ: number, ppy: number,
  bs: { resamples: number; block_length: number | 'auto'; seed: number; confidence: number }, S: number, prewhiten: boolean, env: StageEnv,
  sharpeDifferenceTest: typeof import('../../src/math/sharpe-difference.js').sharpeDifferenceTest,
): Statistics {
  const column = (j: number) => values.subarray(j * T, (j + 1) * T);
  // The stationary bootstrap, paired: one index vector per resample for every cell.
  const blocks = ran.map((_, j) => optimalBlockLength(column(j)).stationary).sort((a, b) => a - b);
  const median = N % 2 ? blocks[(N - 1) / 2] : (blocks[N / 2 - 1] + blocks[N / 2]) / 2;
  const meanBlock = Math.max(1, bs.block_length === 'auto' ? median : bs.block_length);
  env.progress('bootstrap', 0, 1);
  const boot = pairedBootstrap(values, T, N, { periodsPerYear: ppy, resamples: bs.resamples, meanBlock, seed: bs.seed, confidence: bs.confidence, champion: champ });
  env.progress('bootstrap', 1, 1);

  const moments = ran.map((_, j) => sampleMoments(column(j)));
  const variance = sharpeVariance(moments.map((m) => m.sharpe));
  const threshold = deflatedThreshold(N, variance);
  let pbo: Comparison['pbo'];
  const splitsOf = (s: number) => {
    let c = 1;
    for (let k = 1; k <= s / 2; k++) c = (c * (s / 2 + k)) / k;
    return Math.round(c);
  };
  if (N < 2) pbo = { value: null, blocks: S, splits: 0, dropped_days: 0, logits: [], reason: 'one cell ran: nothing to overfit by choosing' };
  else if (T < 2 * S) pbo = { value: null, blocks: S, splits: splitsOf(S), dropped_days: 0, logits: [], reason: `${T} common days are too few for ${S} blocks` };
  else {
    // A cell whose return never varies on the calendar (one that never held anything) is left out, and a cell whose
    // returns are another's is that one series once (cscvOfVarying).
    const { result: r, live, flat, same } = cscvOfVarying(values, T, N, S);
    const out = {
      ...(flat.length ? { left_out: flat.map((j) => ran[j]!.id) } : {}),
      ...(same.length ? { same_as: dict(same.map(([j, k]) => [ran[j]!.id, ran[k]!.id] as const)) } : {}),
    };
    const why = () => {
      const varying = live.length + same.length;
      if (varying < 2) return `${varying ? 'one cell' : 'no cell'} of the ${N} that ran has returns that vary on the calendar: nothing to rank`;
      return `the ${varying} cells whose returns vary on the calendar earned exactly the same every day (one distinct return series${flat.length ? `; ${flat.length} other cell(s) never vary` : ''}): nothing to choose between, so nothing to overfit`;
    };
    pbo = r
      ? { value: r.pbo, blocks: S, splits: r.splits, dropped_days: r.dropped, logits: Array.from(r.logits), ...out }
      : { value: null, blocks: S, splits: 0, dropped_days: 0, logits: [], ...out, reason: why() };
  }

  const cells: Statistics['cells'] = dict();
  ran.forEach((c, j) => {
    const x = column(j);
    const m = computeMetrics(x, ppy);
    const mo = moments[j];
    const lw = sharpeDifferenceTest(x, column(champ), { prewhiten });
    const rec = c.result!.record;
    cells[c.id] = {
      metrics: {
        days: T, cagr: m.cagr, sharpe: m.sharpe, sortino: m.sortino, max_drawdown: m.max_drawdown, calmar: m.calmar, volatility: m.volatility, total_return: m.total_return,
        turnover: rec?.turnover ?? null, costs: rec?.costs ?? null, volatility_band_drift: rec?.volatility_band_drift ?? null,
      },
      intervals: { sharpe: boot.sharpe[j], cagr: boot.cagr[j], max_drawdown: boot.max_drawdown[j] },
      psr: probabilisticSharpe(mo.sharpe, mo.n, mo.skew, mo.kurtosis),
      dsr: deflatedSharpe(mo.sharpe, mo.n, mo.skew, mo.kurtosis, N, variance),
      p_beats_champion: boot.p_beats_champion[j],
      sharpe_test: { delta: lw.delta, se: lw.se, z: lw.z, p: lw.p },
    };
  });
  // Holm's step-down adjustment of the Ledoit–Wolf p-values over the cells tested against the champion: the
  // family-wise error rate held at any dependence between the tests (Holm 1979), for "does any cell beat it".
  const tested = ran.map((c) => c.id).filter((id) => id !== ran[champ]!.id && Number.isFinite(cells[id]!.sharpe_test!.p));
  const adjusted = holm(tested.map((id) => cells[id]!.sharpe_test!.p));
  tested.forEach((id, k) => (cells[id]!.sharpe_test!.p_holm = adjusted[k]!));
  // JSON's own numbers (NaN as null), so a result read back from the cache is the same value.
  return JSON.parse(canonicalJson({ meanBlock, variance, threshold, pbo, cells })) as Statistics;
}

