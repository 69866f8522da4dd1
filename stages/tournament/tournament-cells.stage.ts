/**
 * tournament_cells: runs every cell of the tournament (the base pipeline with the cell's overrides) as a child run
 * inside the tournament's run folder (`cells/<cell id>/<run id>/`), or takes its unchanged result from the result
 * cache (<runs>/.cache, keyed by config hash + data identity + inputs + engine code: the same key a meta's sleeves
 * use). Cells run through the run's cell executor (the local worker pool: one per core, or `workers`). A cell that
 * fails is recorded with its error and the others finish; the stage fails only when the champion or every cell did.
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import type { CellOutcome, TournamentContext } from '../../src/core/context.js';
import { runError } from '../../src/core/errors.js';
import { dict } from '../../src/util/keyed.js';
import { int, params, type Static } from '../../src/core/params.js';
import { inject } from 'inversify';
import { type ChildRuns, SERVICE, type Stage, type StageEnv, type StageMeta } from '../../src/core/plugin.js';
import { tournamentOf } from '../../src/core/resolved-config.js';
import { readCached, resultKey, writeCached } from '../../src/runs/result-cache.js';

const PARAMS = params({
  workers: int('Cells run at once on worker threads; one per core when omitted, 1 runs them in turn.', undefined, { min: 1 }),
});
export type TournamentCellsParams = Static<typeof PARAMS>;

export class TournamentCellsStage implements Stage<TournamentContext, TournamentCellsParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'tournament_cells',
    description: "Runs the tournament's cells (the base with each cell's overrides) as child runs, or takes unchanged ones from the cache; a failed cell is recorded and the others finish.",
    documents: ['tournament'],
    requires: ['matrix'],
    provides: ['cells'],
    params: PARAMS,
  };

  constructor(@inject(SERVICE.ChildRuns) private readonly childRuns: ChildRuns) {}

  async execute(ctx: TournamentContext, p: TournamentCellsParams, env: StageEnv): Promise<TournamentContext> {
    const t = tournamentOf(env.pipeline.config);
    // Keyed by cell ids users choose: no prototype (a cell may be called `constructor`).
    const keys = dict<{ key: string; data_hash: string }>();
    const outcomes = new Map<string, CellOutcome>();
    const memo = new Map<string, Promise<string | undefined>>();
    const toRun: string[] = [];
    for (const c of t.cells) {
      const spec = this.childRuns.cellSpec(c.id);
      const k = spec ? await resultKey(spec, env, memo) : undefined;
      if (k) keys[c.id] = k;
      const hit = k && this.childRuns.useCache ? readCached(this.childRuns.runsRoot, k.key) : undefined;
      if (hit) {
        // Where the cell's run is, from this run's folder (a link in the report; only run ids differ from a fresh run).
        outcomes.set(c.id, { ...c, outcome: 'succeeded', run: relative(env.finalRunDir, hit.run), cached: true, data_hash: k!.data_hash, key: k!.key, result: { ...hit, name: c.id, data_hash: k!.data_hash } });
        env.audit.event('tournament_cells', 'cell_cache_hit', { cell: c.id, config_hash: c.config_hash, data_hash: k!.data_hash, from: hit.run });
      } else toRun.push(c.id);
    }
    if (outcomes.size) env.log(`cells: ${outcomes.size} of ${t.cells.length} unchanged, from the cache`);

    const threads = p.workers ?? Math.max(1, Math.min(availableParallelism(), toRun.length));
    env.progress('cells', 0, toRun.length);
    const runs = toRun.length
      ? await this.childRuns.runCells(toRun, { threads, onDone: (d) => env.progress('cells', d, toRun.length), keys: dict(Object.entries(keys).map(([id, k]) => [id, k.key] as const)) })
      : [];
    env.progress('cells', toRun.length, toRun.length);
    for (const run of runs) {
      const c = t.cells.find((x) => x.id === run.name);
      if (!c) throw runError('QUEUE_JOB_FAILED', `a cell's run came back as '${run.name}', which is no cell of this tournament`, 'Run the tournament again; report it if it recurs.');
      const rel = run.folder.startsWith(env.runDir) ? run.folder.slice(env.runDir.length + 1) : run.folder || null;
      if (run.outcome !== 'succeeded' || !run.result) {
        const error = run.error ?? { code: 'CHILD_NO_RETURNS', message: 'the run produced no out-of-sample returns', stage: null };
        outcomes.set(c.id, { ...c, outcome: 'failed', run: rel, cached: false, data_hash: run.data_hash, error });
        env.audit.event('tournament_cells', 'cell_failed', { cell: c.id, run: rel, config_hash: c.config_hash, error });
        env.log(`cell ${c.id}: failed (${error.message})`);
        continue;
      }
      const result = { ...run.result, run: rel! };
      // Cache only what was computed from the very config and data the key names; only then is the key its identity.
      const k = keys[c.id];
      const identified = k && run.config_hash === c.config_hash && run.data_hash === k.data_hash;
      outcomes.set(c.id, { ...c, outcome: 'succeeded', run: rel, cached: false, data_hash: run.data_hash, ...(identified ? { key: k.key } : {}), result });
      env.audit.event('tournament_cells', 'cell_ran', { cell: c.id, run: rel, config_hash: run.config_hash, data_hash: run.data_hash, days: result.dates.length });
      if (identified) writeCached(this.childRuns.runsRoot, k.key, { ...result, run: `${env.finalRunDir}/${rel}` });
    }

    // In the tournament's order, however each cell was obtained.
    ctx.cells = t.cells.map((c) => outcomes.get(c.id)!);
    for (const c of ctx.cells) if (c.outcome === 'succeeded' && c.data_hash) env.recordData({ data_hash: c.data_hash, entries: c.result?.data_inputs ?? 0 });
    await env.artifacts.writeJson('cells.json', ctx.cells.map(({ result: _r, key: _k, ...c }) => ({ ...c, days: _r?.dates.length ?? null })));
    const failed = ctx.cells.filter((c) => c.outcome === 'failed');
    const champion = ctx.cells.find((c) => c.id === t.champion)!;
    env.audit.event('tournament_cells', 'cells_done', { cells: ctx.cells.length, cached: ctx.cells.filter((c) => c.cached).length, failed: failed.map((c) => c.id) });
    if (failed.length === ctx.cells.length)
      throw runError('TOURNAMENT_ALL_CELLS_FAILED', `every cell failed (${failed.length}): ${failed.slice(0, 3).map((c) => `${c.id}: ${c.error?.message}`).join('; ')}${failed.length > 3 ? `; and ${failed.length - 3} more` : ''}`, 'cells.json lists every cell with its error, and its run folder under cells/ when it left one.');
    if (champion.outcome === 'failed')
      throw runError('TOURNAMENT_CHAMPION_FAILED', `the champion '${champion.id}' failed: ${champion.error?.message}`, 'Every cell is compared with the champion: fix it, or name another champion. cells.json lists every cell.');
    return ctx;
  }
}
