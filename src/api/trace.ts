/**
 * traceSymbol(folder, symbol) (`pipeline-run trace <run folder> <symbol>`): one symbol's path through the funnel, read back from the run's
 * artifacts: which scanner found it (and its discovery metadata), its features, its scores and rank per
 * ranker, its cluster, each filter's verdict (value and threshold), the relaxation stage that admitted or left
 * it, and its final atoms and weight. A meta run: the symbol's path inside every sleeve; a tournament run: its path in
 * the champion cell's run (the record the tournament is about). A run that never got to discovery has nothing to
 * trace (NOTHING_TO_TRACE), as a symbol discovery never saw is not in the run (SYMBOL_NOT_IN_RUN): both exit 2.
 */
import { runManifest } from '../runs/manifest.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FractalError, inputError } from '../core/errors.js';
import { ownGet } from '../util/keyed.js';
import { parseJsonText } from '../util/json-text.js';
import { suggestionHint } from '../config/diagnostics.js';

export type Json = Record<string, any>;

/** A JSON file of a run folder, or undefined when absent; an unreadable one is NOT_A_RUN (trace and compare read so). */
export function readRunJson(folder: string, name: string): Json | undefined {
  const f = join(folder, name);
  if (!existsSync(f)) return undefined;
  // Reported by line:col, never by a slice of the file (V8's own message would quote it).
  const parsed = parseJsonText(readFileSync(f, 'utf8'));
  if (!parsed.ok) throw inputError('NOT_A_RUN', `${f} is not valid JSON (${parsed.error}): ${folder} is not a readable run folder`);
  return parsed.value as Json;
}

export interface Trace {
  symbol: string;
  run: string;
  /** A meta run: the symbol's flattened weight, each sleeve's contribution, and its path inside each sleeve. */
  meta?: { weight: number | null; contributions: Record<string, number>; sleeves: { sleeve: string; run: string | null; trace?: Trace; note?: string }[] };
  /**
   * A tournament run: the symbol's path in its champion cell's run (`trace`; the record the tournament compares every
   * cell with, as `runs` and `compare` show it), and every cell's run folder (as cells.json names it, relative to the
   * tournament's folder; null when the cell left none) to trace another cell's run.
   */
  tournament?: { champion: string; run: string; trace: Trace; cells: { cell: string; outcome: string; run: string | null }[] };
  /** Found by discovery (`candidate`), or left out by it (`dropped`: the step, and why, with its evidence). */
  discovery?: { scanner: string; venue: string; as_of: string; candidate: Json | null; dropped?: { step: string; reason: string; [evidence: string]: unknown } };
  features?: Record<string, number | null>;
  scores?: { champion: string; regime: string | null; conviction: Record<string, number | null>; champion_rank: number | null; of: number };
  cluster?: { id: number; size: number; members: string[] } | null;
  /**
   * Each filter's verdict on the symbol: `vetoed` at the thresholds the policy ended with, `passed`, or
   * `passed once relaxed` (vetoed at the strict thresholds only; the relaxed ones let it through). A vetoed winner's
   * veto was overridden by a relaxation stage (`overridden`).
   */
  filters?: { filter: string; verdict: 'vetoed' | 'passed' | 'passed once relaxed'; overridden?: string; metric?: string; value?: unknown; threshold?: unknown; strict_threshold?: unknown }[];
  selection?: { winner: boolean; htr_stage: number; htr_stage_name: string; reason?: string; overridden_vetoes?: unknown[] };
  atoms?: Json[];
  weight?: { weight: number; direction: string } | null;
}

export function traceSymbol(folder: string, symbol: string): Trace {
  const manifest = runManifest(folder, readRunJson(folder, 'manifest.json'), 'Give the folder `pipeline-run` printed (runs/<name>/<run_id>), or a run id of a run under the runs root (--out).');
  const t: Trace = { symbol, run: manifest.run_id };
  if (manifest.config?.pipeline === 'meta') return traceMeta(folder, symbol, t);
  if (manifest.config?.pipeline === 'tournament') return traceTournament(folder, symbol, t, manifest);
  const cands = readRunJson(folder, 'candidates.json');
  // No discovery to follow: an empty trace would read as "the run never saw it" for any symbol.
  if (!cands) throw inputError('NOTHING_TO_TRACE', `run ${manifest.run_id} has nothing to trace ${symbol} through: ${whyNoDiscovery(manifest)}, so it wrote no candidates.json`);
  const c = (cands.candidates as Json[]).find((x) => x.symbol === symbol) ?? null;
  if (!c) {
    // Left out by a step of discovery: that step's record says why.
    const funnel = (cands.funnel as { step: string; dropped?: Json[] }[] | undefined) ?? [];
    for (const f of funnel) {
      const d = f.dropped?.find((x) => x.symbol === symbol);
      if (!d) continue;
      const { symbol: _s, ...why } = d;
      return { ...t, discovery: { scanner: cands.scanner, venue: cands.venue, as_of: cands.as_of, candidate: null, dropped: { step: f.step, reason: String(d.reason), ...why } } };
    }
    const known = (cands.candidates as Json[]).map((x) => x.symbol as string);
    const seen = [...new Set([...known, ...funnel.flatMap((f) => (f.dropped ?? []).map((x) => x.symbol as string))])];
    const guess = suggestionHint(symbol, seen, 'symbols', '');
    throw inputError(
      'SYMBOL_NOT_IN_RUN',
      `${symbol} is not in the universe of run ${manifest.run_id}: discovery never saw it (${seen.length} symbols seen, ${known.length} candidates)`,
      `${guess.startsWith('Did you mean') ? `${guess.split('?')[0]}? ` : ''}The symbols discovery saw are in ${join(folder, 'candidates.json')} (candidates, and each step's dropped list); \`pipeline-run lakehouse status\` lists what the lakehouse holds.`,
    );
  }
  t.discovery = { scanner: cands.scanner, venue: cands.venue, as_of: cands.as_of, candidate: c };
  const feats = readRunJson(folder, 'features.json');
  if (feats) {
    const j = (feats.symbols as string[]).indexOf(symbol);
    if (j >= 0) t.features = Object.fromEntries(Object.entries(feats.features as Record<string, (number | null)[]>).map(([k, v]) => [k, v[j]]));
  }
  const scores = readRunJson(folder, 'scores.json');
  if (scores) {
    const j = (scores.symbols as string[]).indexOf(symbol);
    if (j >= 0)
      t.scores = {
        champion: scores.champion,
        regime: scores.regime ?? null,
        conviction: Object.fromEntries(Object.entries(scores.conviction as Record<string, (number | null)[]>).map(([k, v]) => [k, v[j]])),
        champion_rank: scores.champion_rank?.[j] ?? null,
        of: scores.symbols.length,
      };
  }
  const clusters = readRunJson(folder, 'clusters.json');
  if (clusters) {
    const j = (clusters.symbols as string[]).indexOf(symbol);
    const id = j >= 0 ? clusters.labels[j] : undefined;
    const c = (clusters.clusters as Json[]).find((x) => x.id === id);
    t.cluster = c ? { id: c.id, size: c.size, members: c.members } : null;
  }
  const vetoes = readRunJson(folder, 'vetoes.json');
  const winners = readRunJson(folder, 'winners.json');
  if (vetoes) {
    const strict = ownGet(vetoes.strict_vetoes as Record<string, Json[]> | undefined, symbol) ?? [];
    const final = ownGet(vetoes.vetoes as Record<string, Json[]> | undefined, symbol) ?? [];
    const won = (winners?.winners as Json[] | undefined)?.find((x) => x.symbol === symbol);
    t.filters = (vetoes.filters as Json[]).map((f) => {
      const v = final.find((x) => x.filter === f.name);
      const s = strict.find((x) => x.filter === f.name);
      if (v) {
        // A winner that carries the veto got in at a relaxation stage that overrides soft vetoes.
        // Representatives are forced at HTR stage 3, the balanced fallback fills at stage 4 (stages/policy).
        const stage = won?.reason === 'representative' ? 'HTR stage 3 (representative_forcing)' : won?.reason === 'fallback' ? 'HTR stage 4 (balanced_fallback)' : `HTR stage ${winners!.htr_stage} (${winners!.htr_stage_name})`;
        const overridden = won && (won.overridden_vetoes as Json[] | undefined)?.some((x) => x.filter === f.name) ? `overridden: selected by ${won.reason} at ${stage}` : undefined;
        return { filter: f.name, verdict: 'vetoed' as const, ...(overridden ? { overridden } : {}), metric: v.metric, value: v.value, threshold: v.threshold };
      }
      if (s) return { filter: f.name, verdict: 'passed once relaxed' as const, metric: s.metric, value: s.value, strict_threshold: s.threshold };
      return { filter: f.name, verdict: 'passed' as const };
    });
  }
  if (winners) {
    const w = (winners.winners as Json[]).find((x) => x.symbol === symbol);
    t.selection = { winner: Boolean(w), htr_stage: winners.htr_stage, htr_stage_name: winners.htr_stage_name, ...(w ? { reason: w.reason, overridden_vetoes: w.overridden_vetoes } : {}) };
  }
  const atoms = readRunJson(folder, 'atoms.json') as Json[] | undefined;
  if (Array.isArray(atoms)) t.atoms = atoms.filter((a) => a.symbol === symbol);
  const weights = readRunJson(folder, 'weights.json') as Json[] | undefined;
  if (Array.isArray(weights)) {
    const w = weights.find((x) => x.symbol === symbol);
    t.weight = w ? { weight: w.weight, direction: w.direction } : null;
  }
  return t;
}

/** A meta run: the flattened weight and attribution, then the symbol's path inside every sleeve that saw it. */
function traceMeta(folder: string, symbol: string, t: Trace): Trace {
  const flat = (readRunJson(folder, 'weights.json') as unknown as { symbol: string; weight: number; sleeves: Record<string, number> }[] | undefined) ?? [];
  const f = flat.find((x) => x.symbol === symbol);
  const sleeves = ((readRunJson(folder, 'sleeves.json')?.sleeves ?? []) as { name: string; run: string | null; vetoed: string | null }[]).map((s) => {
    if (!s.run) return { sleeve: s.name, run: null, note: s.vetoed ?? 'no run' };
    const dir = s.run.startsWith('/') ? s.run : join(folder, s.run);
    if (!existsSync(join(dir, 'manifest.json'))) return { sleeve: s.name, run: s.run, note: 'run folder not found' };
    try {
      return { sleeve: s.name, run: s.run, trace: traceSymbol(dir, symbol) };
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? err.code : undefined;
      return { sleeve: s.name, run: s.run, note: code === 'SYMBOL_NOT_IN_RUN' ? 'not in its universe' : code === 'NOTHING_TO_TRACE' ? `nothing to trace: ${(err as Error).message}` : `unreadable: ${(err as Error).message}` };
    }
  });
  if (!f && !sleeves.some((s) => s.trace)) throw inputError('SYMBOL_NOT_IN_RUN', `${symbol} is held by no sleeve of meta run ${t.run}`, suggestionHint(symbol, flat.map((x) => x.symbol), 'holdings', `The run's ${flat.length} holdings are listed in ${join(folder, 'weights.json')}, e.g. ${flat.slice(0, 5).map((x) => x.symbol).join(', ')}.`));
  return { ...t, meta: { weight: f?.weight ?? null, contributions: f?.sleeves ?? {}, sleeves } };
}

/** How a run that did not succeed ended: "failed in stage 'x' (CODE)". */
function howItEnded(manifest: Json): string {
  const error = manifest.error as { code?: unknown; stage?: unknown } | undefined;
  return `${manifest.outcome === 'failed' ? 'failed' : `ended ${String(manifest.outcome)}`}${typeof error?.stage === 'string' ? ` in stage '${error.stage}'` : ''}${typeof error?.code === 'string' ? ` (${error.code})` : ''}`;
}

/** Why a run has no candidates.json: it failed or was stopped before discovery, or it has no ingestion stage. */
function whyNoDiscovery(manifest: Json): string {
  const stages = (Array.isArray(manifest.stages) ? manifest.stages : []) as { type?: unknown }[];
  if (!stages.some((s) => s.type === 'ingestion')) return `its pipeline has no ingestion stage (stages: ${stages.map((s) => String(s.type)).join(', ') || 'none'})`;
  if (manifest.outcome !== 'succeeded') return `it ${howItEnded(manifest)} before discovery`;
  return 'its ingestion stage did not run';
}

/**
 * A tournament run: the symbol's path in the champion cell's run, the record the tournament is about (its headline in
 * `runs`, the record `compare` compares); every cell's run folder is listed to trace another one.
 */
function traceTournament(folder: string, symbol: string, t: Trace, manifest: Json): Trace {
  const champion = manifest.config?.tournament?.champion;
  // cells.json is written by the cells stage, even when the comparison after it failed; tournament.json by the comparison.
  const listed = (readRunJson(folder, 'cells.json') as unknown) ?? readRunJson(folder, 'tournament.json')?.cells;
  const cells = (Array.isArray(listed) ? listed : []) as { id?: unknown; outcome?: unknown; run?: unknown; error?: { code?: unknown } }[];
  const rows = cells.filter((c) => typeof c.id === 'string').map((c) => ({ cell: c.id as string, outcome: typeof c.outcome === 'string' ? c.outcome : 'unknown', run: typeof c.run === 'string' ? c.run : null }));
  if (!rows.length) throw inputError('NOTHING_TO_TRACE', `tournament run ${t.run} has nothing to trace ${symbol} through: it records no cells (${manifest.outcome === 'succeeded' ? 'no cells.json' : `it ${howItEnded(manifest)} before its cells ran`})`);
  const cell = rows.find((c) => c.cell === champion);
  const error = cells.find((c) => c.id === champion)?.error?.code;
  if (typeof champion !== 'string' || !cell?.run)
    throw inputError('NOTHING_TO_TRACE', `tournament run ${t.run} has nothing to trace ${symbol} through: a tournament's trace follows its champion cell, and ${typeof champion === 'string' ? `champion '${champion}' left no run folder (${cell?.outcome ?? 'not run'}${typeof error === 'string' ? `, ${error}` : ''})` : 'its manifest names no champion'}`, `cells.json in ${folder} lists every cell with its run folder; trace one of those.`);
  const dir = resolve(folder, cell.run);
  if (!existsSync(join(dir, 'manifest.json'))) throw inputError('NOTHING_TO_TRACE', `tournament run ${t.run} has nothing to trace ${symbol} through: its champion cell '${champion}''s run folder ${dir} is gone (pruned?)`, `cells.json in ${folder} lists every cell with its run folder; trace one of those.`);
  let inner: Trace;
  try {
    inner = traceSymbol(dir, symbol);
  } catch (err) {
    // Said as the tournament's: the user asked about the tournament run, not about a cell they may not know of.
    if (err instanceof FractalError && (err.code === 'SYMBOL_NOT_IN_RUN' || err.code === 'NOTHING_TO_TRACE')) throw inputError(err.code, `tournament run ${t.run} is traced through its champion cell '${champion}': ${err.message}`, err.hint);
    throw err;
  }
  return { ...t, tournament: { champion, run: cell.run, trace: inner, cells: rows } };
}
