/**
 * Addressable stages: `pipeline-run run <file> --from <stage> --reuse <run>` runs a pipeline from a stage, taking the
 * earlier stages' outputs from a previous run's checkpoints (src/runs/checkpoints.ts) when nothing that decides them
 * changed: the stages' config up to there (params, the stages themselves, the pipeline's own plugin modules and input
 * files), the data (the run's data hash against the data identity the scanner names now) and Fractal's code. When
 * one did change the run is refused before anything is written, with a code (docs/errors.md) and the reason.
 *
 * What a stage's output is: the context after it (every field; plain data from its checkpoint, and what is not plain
 * data, a handle on the market, made again by re-running the stage that made it quietly: no artifacts, no audit),
 * the artifacts and metrics sections it wrote (copied from the reused run in the order it wrote them, so the new
 * run's files and their list are those of a full run), its audit events (re-emitted, with a `stage_reused` event
 * naming the run) and the data it recorded.
 */
import { messageOf } from '../util/thrown.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { join, resolve } from 'node:path';
import { didYouMean } from '../config/diagnostics.js';
import type { ValidationResult } from '../config/validate.js';
import { newMetaContext, newSelectionContext, newTournamentContext, type AnyContext } from '../core/context.js';
import { inputError } from '../core/errors.js';
import type { DataSource, PluginResolver, RunSpec, StageEnv } from '../core/plugin.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import { canonicalJson } from '../util/hash.js';
import { byCodeUnit } from '../util/order.js';
import type { ArtifactWrite, ArtifactWriter } from '../runs/artifacts.js';
import type { AuditLedger } from '../runs/audit.js';
import { CHECKPOINT_DIR, contextFields, isHashed, isPlainData, loadCheckpoint, readBlobBytes, readCheckpoint, readRunFile, RunFileProblem, setContextField, type CheckpointWriter, type StageCheckpoint } from '../runs/checkpoints.js';
import type { Manifest } from '../runs/manifest.js';
import { codeFingerprint, dataIdentityOf, inputsFingerprint } from '../runs/result-cache.js';
import type { BuiltStage } from './factory.js';
import { quietEnv } from './replay.js';
import { codeOf } from '../util/thrown.js';
import { withLakehousePins, type PinnedRegistry } from '../lakehouse/pins.js';

const sha = (x: unknown) => createHash('sha256').update(canonicalJson(x)).digest('hex');

/** Each stage's params hash, and the hash of what decides the stages up to each one (index i: stages 0..i). */
export function prefixHashes(config: ResolvedConfig, baseDir: string): { prefix: string[]; params: string[] } {
  const inputs = inputsFingerprint(config, baseDir);
  const doc = { pipeline: config.pipeline, sleeves: config.sleeves ?? null, tournament: config.tournament ?? null, inputs };
  const params = config.stages.map((s) => sha({ type: s.type, params: s.params }));
  const prefix = config.stages.map((_, i) => sha({ ...doc, stages: params.slice(0, i + 1) }));
  return { prefix, params };
}

/** A new context of the document's kind. */
export function freshContext(config: ResolvedConfig, runId: string): AnyContext {
  return config.pipeline === 'meta' ? newMetaContext(runId, config.sleeves ?? []) : config.pipeline === 'tournament' ? newTournamentContext(runId) : newSelectionContext(runId, {});
}

/**
 * What a run reuses: the stages before `from` from the run in `folder`, with what it read of that run, checked
 * (planReuse): the restore reads nothing more of it.
 */
export interface ReusePlan {
  from: number;
  folder: string;
  runId: string;
  checkpoints: StageCheckpoint[];
  /** The blobs the reused checkpoints' fields name, by sha256, each checked against its name. */
  blobs: Map<string, Uint8Array>;
  /** Each file the reused stages wrote, as the run left it (checked against the hash of its last write). */
  files: Map<string, Uint8Array>;
  /** The shared JSON files the reused stages wrote sections of, parsed from `files`. */
  sections: Map<string, Record<string, unknown>>;
  /** The reused run's audit, by line. */
  audit: string[];
}

/** `--from`: a stage type (its first occurrence), `type#n` (the n-th), or a 1-based number; the stage's index. */
export function stageIndex(config: ResolvedConfig, from: string): number | undefined {
  const types = config.stages.map((s) => s.type);
  if (/^\d+$/.test(from)) {
    const n = Number(from);
    return n >= 1 && n <= types.length ? n - 1 : undefined;
  }
  const m = /^(.+)#(\d+)$/.exec(from);
  const [type, nth] = m ? [m[1], Number(m[2])] : [from, 1];
  let seen = 0;
  for (let i = 0; i < types.length; i++) if (types[i] === type && ++seen === nth) return i;
  return undefined;
}

/** A run folder: a folder with a manifest (a run that completed, or failed and was recorded). */
const isRun = (d: string) => existsSync(join(d, 'manifest.json')) && statSync(d).isDirectory();

/** `--reuse`: a run folder, a run id under <runsRoot>/<name>/, or `latest` (the newest run of the pipeline that succeeded). */
function findRun(run: string, config: ResolvedConfig, runsRoot: string): string | undefined {
  if (existsSync(run) && isRun(resolve(run))) return resolve(run);
  const parent = join(runsRoot, config.name);
  if (run === 'latest') return existsSync(parent) ? latestRun(parent) : undefined;
  for (const d of [join(parent, run), join(parent, `${run}.failed`)]) if (existsSync(d) && isRun(d)) return d;
  return undefined;
}

/**
 * The newest run folder under a pipeline's runs folder (not `.failed`, with a manifest), or undefined. A run id
 * orders runs by the second they started (YYYYMMDDTHHMMSSZ-random); runs started within one second are ordered by
 * their manifests' started_at (milliseconds), not by the random part of their ids.
 */
export function latestRun(parent: string): string | undefined {
  const ids = readdirSync(parent).filter((n) => !n.startsWith('.') && !n.endsWith('.failed')).sort(byCodeUnit).reverse();
  const newest = ids.find((n) => isRun(join(parent, n)));
  if (newest === undefined) return undefined;
  const second = (id: string) => id.split('-')[0];
  const startedAt = (id: string): string => {
    try {
      return String((JSON.parse(readFileSync(join(parent, id, 'manifest.json'), 'utf8')) as { started_at?: unknown }).started_at ?? '');
    } catch {
      return '';
    }
  };
  let best = newest;
  for (const id of ids) {
    if (second(id) !== second(newest) || id === newest || !isRun(join(parent, id))) continue;
    if (startedAt(id) > startedAt(best)) best = id;
  }
  return join(parent, best);
}

/** Every finished run folder of a pipeline (not `.failed`, with a manifest), newest first (as latestRun orders them). */
function runsNewestFirst(parent: string): string[] {
  if (!existsSync(parent)) return [];
  const started = (id: string): string => {
    try {
      return String((JSON.parse(readFileSync(join(parent, id, 'manifest.json'), 'utf8')) as { started_at?: unknown }).started_at ?? '');
    } catch {
      return '';
    }
  };
  return readdirSync(parent)
    .filter((n) => !n.startsWith('.') && !n.endsWith('.failed') && isRun(join(parent, n)))
    .sort((a, b) => byCodeUnit(b.split('-')[0]!, a.split('-')[0]!) || byCodeUnit(started(b), started(a)))
    .map((n) => join(parent, n));
}

/** The params that differ between two stages' params, as `name: before → after` (top-level keys). */
function paramChanges(before: Record<string, unknown> | undefined, after: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort(byCodeUnit);
  const show = (v: unknown) => (v === undefined ? '(unset)' : canonicalJson(v));
  return keys
    .filter((k) => canonicalJson(before?.[k] ?? null) !== canonicalJson(after[k] ?? null))
    .map((k) => `${k}: ${show(before?.[k])} → ${show(after[k])}`)
    .join('; ');
}

/**
 * Checks that the stages before `from` can be taken from `run`, before anything is written; returns what to restore
 * or throws the coded reason (REUSE_*: exit 2).
 */
export async function planReuse(v: ValidationResult, spec: RunSpec, req: { from?: string; run?: string }, env: { runsRoot: string; lakehousePath: string; plugins: PluginResolver; pins?: readonly PinnedRegistry[] }): Promise<ReusePlan> {
  const config = v.resolved!;
  if (!req.from || !req.run) throw inputError('REUSE_FROM_UNKNOWN', `${req.from ? '--from' : '--reuse'} needs ${req.from ? '--reuse <run>' : '--from <stage>'}: which stage to start at, and which run to take the stages before it from`);
  let folder = findRun(req.run, config, env.runsRoot);
  if (!folder)
    throw req.run === 'latest'
      ? inputError('REUSE_RUN_NOT_FOUND', `--reuse latest: no finished run of '${config.name}' under ${env.runsRoot}`, 'Run the pipeline in full once; later runs can start from it.')
      : inputError('REUSE_RUN_NOT_FOUND', `--reuse ${req.run}: no run folder there, and no run of '${config.name}' with that id under ${env.runsRoot}`);
  const from = stageIndex(config, req.from);
  if (from === undefined) {
    const meant = didYouMean(req.from, config.stages.map((s) => s.type));
    throw inputError('REUSE_FROM_UNKNOWN', `--from ${req.from}: the pipeline's stages are ${config.stages.map((s, i) => `${i + 1} ${s.type}`).join(', ')}`, meant ? `Did you mean '${meant}'?` : 'Name a stage by its type, `type#n` for a repeat, or its number.');
  }
  if (from === 0) throw inputError('REUSE_FROM_UNKNOWN', `--from ${req.from}: nothing comes before the first stage to reuse`, 'Run without --from and --reuse, or start at a later stage.');
  // `latest`: the newest run whose stages before --from were configured as now (a development run after a production
  // one must not hide it), else the newest, whose refusal then says what differs.
  if (req.run === 'latest') {
    const wanted = prefixHashes(config, v.baseDir).prefix[from - 1];
    const fits = runsNewestFirst(join(env.runsRoot, config.name)).find((f) => {
      const cp = readCheckpoint(f, from - 1);
      return cp?.prefix_hash === wanted && cp.code === codeFingerprint();
    });
    if (fits) folder = fits;
  }
  const manifest = readManifest(folder);
  const where = `run ${manifest.run_id} (${folder})`;
  const damaged = (what: string) => inputError('REUSE_RUN_DAMAGED', `${where} cannot be reused: ${what}`);
  // Every file of the run is read through readRunFile (inside the folder, regular, of its recorded size) and a
  // damaged one is refused as input, before anything is written: never found half-way through a new run.
  const input = <T>(read: () => T): T => {
    try {
      return read();
    } catch (err) {
      if (err instanceof RunFileProblem) throw damaged(err.message);
      throw err;
    }
  };
  const checkpoints: StageCheckpoint[] = [];
  for (let i = 0; i < from; i++) {
    const cp = input(() => loadCheckpoint(folder, i));
    if (!cp || cp.type !== manifest.stages[i]?.type)
      throw inputError('REUSE_NO_CHECKPOINT', `${where} has no checkpoint of stage ${i + 1} '${config.stages[i].type}'${missedBecause(manifest.stages, i)}`, heldCashBefore(manifest.stages, i) ? 'Its own decision held cash there, so the stages after it did not run (a full run on the same data holds cash again): start --from that stage or an earlier one.' : undefined);
    checkpoints.push(cp);
  }
  // The later stages' checkpoints too: a file a reused stage wrote and a later one rewrote (weights.json, the
  // allocation section of metrics.json: the backtest's final decision) is checked against its last write.
  const later: StageCheckpoint[] = [];
  for (let i = from; i < manifest.stages.length; i++) {
    const cp = input(() => loadCheckpoint(folder, i));
    if (cp) later.push(cp);
  }
  // Checkpoints that record no hashes were written before Fractal recorded them, by other code: refused as such.
  // One of this build without them has been edited.
  const code = codeFingerprint();
  if (checkpoints.some((cp) => cp.code !== code)) throw inputError('REUSE_CODE_CHANGED', `${where} was made by other code (Fractal ${manifest.fractal_version}, built from sources that differ from this build's); its checkpoints are not reused`);
  const unhashed = [...checkpoints, ...later].find((cp) => !isHashed(cp));
  if (unhashed) throw damaged(`its ${CHECKPOINT_DIR}/${unhashed.index}.json records no content hashes of the files and blobs it names (written by an older Fractal, or edited)`);
  // The blobs the reused stages' fields name: each read once, of its recorded size, checked against its name.
  const blobs = new Map<string, Buffer>();
  for (const cp of checkpoints)
    for (const sha of Object.values(cp.fields))
      if (!blobs.has(sha)) {
        try {
          blobs.set(sha, readBlobBytes(folder, sha, cp.blobs![sha]));
        } catch (err) {
          if (err instanceof RunFileProblem) throw damaged(`stage ${cp.index + 1} '${cp.type}': ${err.message}`);
          throw err;
        }
      }
  // Each file the reused stages wrote, as the run left it: the bytes of its last write (a section's write leaves the
  // whole file), which the checkpoint of the stage that made it recorded; read once, of that size, hashed.
  const lastWrite = new Map<string, { cp: StageCheckpoint; sha256: string; size: number }>();
  for (const cp of [...checkpoints, ...later]) for (const w of cp.writes!) lastWrite.set(w.file, { cp, sha256: w.sha256!, size: w.size! });
  const files = new Map<string, Buffer>();
  for (const file of new Set(checkpoints.flatMap((cp) => writesOf(cp).map((w) => w.file)))) {
    const w = lastWrite.get(file)!;
    const by = `stage ${w.cp.index + 1} '${w.cp.type}'`;
    let bytes: Buffer;
    try {
      bytes = readRunFile(folder, file, { size: w.size });
    } catch (err) {
      if (!(err instanceof RunFileProblem)) throw err;
      throw damaged(err.kind === 'size' ? `${file} has changed since ${by} wrote it (${err.actual} bytes, ${w.size} recorded)` : err.kind === 'missing' ? `${file}, which ${by} wrote, is missing` : err.message);
    }
    const now = createHash('sha256').update(bytes).digest('hex');
    if (now !== w.sha256) throw damaged(`${file} has changed since ${by} wrote it (sha256 ${w.sha256.slice(0, 12)}… recorded, ${now.slice(0, 12)}… now)`);
    files.set(file, bytes);
  }
  // The sections the reused stages wrote, from their files (checked whole above).
  const sections = new Map<string, Record<string, unknown>>();
  for (const cp of checkpoints)
    for (const w of writesOf(cp))
      if (w.section !== undefined && !sections.has(w.file)) {
        let doc: unknown;
        try {
          doc = JSON.parse(files.get(w.file)!.toString('utf8'));
        } catch (err) {
          throw damaged(`its ${w.file} is not valid JSON (${messageOf(err)})`);
        }
        if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw damaged(`its ${w.file} is not a JSON object of sections`);
        sections.set(w.file, doc as Record<string, unknown>);
      }
  // The audit's lines (the reused stages' events are re-emitted): torn or edited, refused here too.
  const audit = input(() => readRunFile(folder, 'audit.jsonl'))
    .toString('utf8')
    .split('\n')
    .filter(Boolean);
  try {
    for (const line of audit) JSON.parse(line);
  } catch (err) {
    throw damaged(`its audit.jsonl is not valid JSON (${messageOf(err)})`);
  }
  const last = checkpoints[from - 1];
  const mine = prefixHashes(config, v.baseDir);
  if (mine.prefix[from - 1] !== last.prefix_hash) {
    const old = (manifest.config as ResolvedConfig | undefined)?.stages ?? [];
    const j = mine.params.findIndex((h, i) => i < from && h !== last.params_hashes[i]);
    const why =
      j < 0
        ? "the pipeline's plugin modules, input files, sleeves or cells changed"
        : old[j]?.type !== config.stages[j].type
          ? `stage ${j + 1} is '${config.stages[j].type}' here and '${old[j]?.type ?? '(none)'}' there`
          : `stage ${j + 1} '${config.stages[j].type}' changed: ${paramChanges(old[j]?.params, config.stages[j].params) || 'its params'}`;
    throw inputError('REUSE_CONFIG_CHANGED', `cannot start at '${config.stages[from].type}' from ${where}: ${why}`);
  }
  // The data identity of the registries the run will read: its preflight's (`pins`), not registry.json as it is now.
  const now = await withLakehousePins(() => dataIdentityOf(spec, env), env.pins);
  const then = manifest.data_hash;
  if (!now) throw inputError('REUSE_DATA_CHANGED', `cannot reuse ${where}: the data this pipeline reads cannot be identified before running (a live scanner), so it may have changed`);
  if (then !== null && now !== then) throw inputError('REUSE_DATA_CHANGED', `cannot reuse ${where}: the data changed since (data hash ${then.slice(0, 19)}… then, ${now.slice(0, 19)}… now)`);
  return { from, folder, runId: manifest.run_id, checkpoints, blobs, files, sections, audit };
}

/** The manifest of a run to reuse; one that is not a run's manifest is REUSE_RUN_DAMAGED (input), not a crash. */
function readManifest(folder: string): Manifest {
  let m: Partial<Manifest> | null;
  try {
    m = JSON.parse(readRunFile(folder, 'manifest.json').toString('utf8')) as Partial<Manifest> | null;
  } catch (err) {
    throw inputError('REUSE_RUN_DAMAGED', `${folder} cannot be reused: ${err instanceof RunFileProblem ? err.message : `its manifest.json is not valid JSON (${(err as Error).message})`}`);
  }
  if (!m || typeof m !== 'object' || typeof m.run_id !== 'string' || !Array.isArray(m.stages)) throw inputError('REUSE_RUN_DAMAGED', `${folder} cannot be reused: its manifest.json is not a run's manifest (no run_id or stages)`);
  return m as Manifest;
}

/** Restores the context after stage `plan.from - 1`; stages that made a field that is not plain data run again, quietly. */
async function contextAfter(plan: ReusePlan, k: number, config: ResolvedConfig, runId: string, stages: BuiltStage[], env: StageEnv, memo: Map<number, AnyContext>): Promise<AnyContext> {
  if (k < 0) return freshContext(config, runId);
  const cp = plan.checkpoints[k];
  const ctx = freshContext(config, runId);
  for (const [name, blob] of Object.entries(cp.fields)) setContextField(ctx, name, deserialize(plan.blobs.get(blob)!));
  // run_id is this run's.
  ctx.run_id = runId;
  const byProducer = new Map<number, string[]>();
  for (const [name, j] of Object.entries(cp.unrestorable)) byProducer.set(j, [...(byProducer.get(j) ?? []), name]);
  for (const [j, names] of [...byProducer].sort((a, b) => a[0] - b[0])) {
    let made = memo.get(j);
    if (!made) {
      const before = await contextAfter(plan, j - 1, config, runId, stages, env, memo);
      const s = stages[j];
      made = (await s.stage.execute(before, s.params, quietEnv(env))) ?? before;
      memo.set(j, made);
    }
    const fields = contextFields(made);
    for (const n of names) setContextField(ctx, n, fields.get(n));
  }
  return ctx;
}

/**
 * Restores the stages before `plan.from` into a new run: the context, the artifacts and sections they wrote (in their
 * order), their audit events, the data they recorded, and their checkpoints (so this run can be reused in turn).
 */
export async function restoreReused(
  plan: ReusePlan,
  run: { config: ResolvedConfig; runId: string; stages: BuiltStage[]; env: StageEnv; artifacts: ArtifactWriter; audit: AuditLedger; checkpoints?: CheckpointWriter },
): Promise<AnyContext> {
  const ctx = await contextAfter(plan, plan.from - 1, run.config, run.runId, run.stages, run.env, new Map());
  for (const d of plan.checkpoints[plan.from - 1].data) run.env.recordData(d as DataSource);
  // The artifacts, written as the reused run wrote them: whole files copied, sections from its final file (both as
  // planReuse read and checked them).
  for (const cp of plan.checkpoints)
    for (const w of writesOf(cp)) {
      if (w.section !== undefined) await run.artifacts.writeJsonSection(w.file, w.section, plan.sections.get(w.file)![w.section]);
      else await run.artifacts.writeBytes(w.file, plan.files.get(w.file)!);
    }
  // Each reused stage's own events as the reused run recorded them, after a `stage_reused` naming that run (in place
  // of its stage_started and stage_finished); then its checkpoint, so this run can be reused in turn.
  const lines = plan.audit;
  let index = -1;
  for (const line of lines) {
    const e = JSON.parse(line) as { stage: string | null; event: string; data?: { index?: number } };
    if (e.event === 'stage_started') {
      index = e.data?.index ?? index;
      if (index >= 0 && index < plan.from) run.audit.event(e.stage, 'stage_reused', { index, run_id: plan.runId, folder: plan.folder });
      continue;
    }
    if (index < 0 || index >= plan.from || e.stage === null || e.event === 'stage_finished') continue;
    run.audit.event(e.stage, e.event, e.data);
  }
  if (run.checkpoints)
    for (const cp of plan.checkpoints) {
      for (const b of Object.values(cp.fields)) run.checkpoints.copyBlob(b, plan.blobs.get(b)!);
      run.checkpoints.write(cp);
    }
  return ctx as unknown as AnyContext;
}

/** A checkpoint's writes in order (whole files and sections). */
function writesOf(cp: StageCheckpoint): { file: string; section?: string }[] {
  return cp.writes ?? cp.artifacts.map((file) => ({ file }));
}

/**
 * The checkpoint of stage `index` from the context after it: plain fields as blobs, the others with the stage that
 * made them (the one after which the field first held its current value).
 */
export function checkpointOf(
  index: number,
  type: string,
  ctx: object,
  state: {
    hashes: { prefix: string[]; params: string[] };
    writes: ArtifactWrite[];
    data: DataSource[];
    /** The context keys the stage declares it provides (StageMeta.provides): the only fields it may change in place. */
    provides?: readonly string[];
    previous?: { refs: Map<string, unknown>; unrestorable: Record<string, number>; fields?: Record<string, string> };
  },
  writer: CheckpointWriter,
): { checkpoint: StageCheckpoint; refs: Map<string, unknown> } {
  const t0 = performance.now();
  const fields: Record<string, string> = {};
  const unrestorable: Record<string, number> = {};
  const refs = contextFields(ctx);
  for (const [name, value] of refs) {
    if (value === undefined) continue;
    // A field the stage neither replaced nor provides is the value the previous checkpoint stored: its blob, without
    // serialising and hashing it again (the returns matrix and the features would be, after every stage).
    const stored = state.previous?.refs.get(name) === value ? state.previous.fields?.[name] : undefined;
    if (stored !== undefined && !state.provides?.includes(name)) {
      fields[name] = stored;
      continue;
    }
    let plain = isPlainData(value);
    if (plain) {
      try {
        fields[name] = writer.blob(value);
      } catch (err) {
        if (codeOf(err) && !(err instanceof Error && err.name === 'DataCloneError')) throw err;
        plain = false;
      }
    }
    if (!plain) {
      const same = state.previous && state.previous.refs.get(name) === value && state.previous.unrestorable[name] !== undefined;
      unrestorable[name] = same ? state.previous!.unrestorable[name] : index;
    }
  }
  const checkpoint: StageCheckpoint = {
    index,
    type,
    prefix_hash: state.hashes.prefix[index],
    params_hashes: state.hashes.params.slice(0, index + 1),
    code: codeFingerprint(),
    fields,
    unrestorable,
    artifacts: [...new Set(state.writes.filter((w) => w.section === undefined).map((w) => w.file))],
    writes: state.writes,
    blobs: Object.fromEntries([...new Set(Object.values(fields))].map((b) => [b, writer.sizeOf(b)])),
    sections: state.writes.filter((w) => w.section !== undefined).map((w) => ({ file: w.file, section: w.section! })),
    data: state.data,
  };
  checkpoint.ms = Math.round((performance.now() - t0) * 10) / 10;
  writer.write(checkpoint);
  return { checkpoint, refs };
}

/** Why a run has no checkpoint of stage i, from its manifest's outcomes: what a REUSE_NO_CHECKPOINT says. */
function missedBecause(stages: Manifest['stages'], i: number): string {
  const outcome = stages[i]?.outcome;
  if (outcome === 'failed') return ' (it failed there)';
  if (outcome === 'cash') return ' (its decision held cash there)';
  if (outcome !== 'skipped') return '';
  return heldCashBefore(stages, i) ? ' (skipped: the decision held cash before it)' : ' (it failed before)';
}

/** Whether the run's own decision held cash at stage i or before it (its later stages up to the backtest were skipped). */
function heldCashBefore(stages: Manifest['stages'], i: number): boolean {
  return stages.slice(0, i + 1).some((s) => s.outcome === 'cash');
}
