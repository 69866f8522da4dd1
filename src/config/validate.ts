/**
 * Validation in layers, reporting every problem at once: file and syntax → document schema → plugin names and
 * each plugin's own params (defaults applied, unknown keys refused) → the stage graph (requires/provides) →
 * references (extends, profiles, plugin modules, paths named by params). A valid file yields the resolved
 * config: explicit, defaults filled, plugin references as `{name, params}`; it is what runs and what is hashed.
 */
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { DOCUMENT_PROVIDES, type ContextKey } from '../core/context.js';
import type { JsonSchema, PluginKind, PluginRef, StageMeta } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import type { DocumentKind, ResolvedConfig, ResolvedSleeve, ResolvedStage } from '../core/resolved-config.js';
import { PATH_KEYWORD, PLUGIN_REF_KEYWORD, propertiesOf, subSchema } from '../core/params.js';
import { ajvDiagnostics, compile } from './ajv.js';
import { applyOverlays, composeExtends, type Composed, type SetExpr, type SourceCache } from './compose.js';
import { diag, hasErrors, namedFileInvalid, sortDiagnostics, suggestionHint, type Diagnostic } from './diagnostics.js';
import { an } from '../util/words.js';
import { checkVersion, DOCUMENT_KINDS, DOCUMENT_SCHEMAS, TOURNAMENT_STAGE_PARAMS, TOURNAMENT_STAGES } from './documents.js';
import { applyTournamentSets, validateTournament } from './tournament.js';
import { configHash } from '../util/hash.js';
import { isPlainObject, locateIn, pointer, type OriginMap } from './origins.js';
import { checkPluginPath, loadPluginModule } from './plugin-modules.js';
import { repositoryOf, rootHolding } from './roots.js';
import { displayPath, locate, type Path } from './source.js';
import { messageOf } from '../util/thrown.js';

export interface ValidateOptions {
  registry: PluginRegistry;
  profile?: string;
  sets?: SetExpr[];
  /** Meta files being validated above this one (cycle detection between meta pipelines). */
  stack?: string[];
  /**
   * Folders params may read data from besides the pipeline's repository, declared outside the file (--data-root,
   * FRACTAL_DATA, the lakehouse of --lakehouse / FRACTAL_LAKEHOUSE). See roots.ts.
   */
  dataRoots?: string[];
  /** Files already read in this validation (each of a tournament's cells reads its base again). */
  sources?: SourceCache;
}

export interface ValidationResult {
  file: string;
  diagnostics: Diagnostic[];
  ok: boolean;
  resolved?: ResolvedConfig;
  hash?: string;
  composed?: Composed;
  /** The registry with the pipeline's own plugin modules added. */
  registry: PluginRegistry;
  baseDir: string;
  /** Meta pipelines: each sleeve's own validation, by sleeve name (what the meta run executes). */
  sleeves?: Record<string, ValidationResult>;
  /** The data roots it was validated with (a worker validating a sleeve again uses the same). */
  dataRoots?: string[];
  /** Tournaments: the base's validation, and each cell's (the base with the cell's overrides), by cell id. */
  base?: ValidationResult;
  cells?: Record<string, ValidationResult>;
}

/** Where a plugin ref param sits in a stage's params schema. */
export interface RefParam {
  param: string;
  kind: PluginKind;
  list: boolean;
}

export function refParams(meta: StageMeta): RefParam[] {
  const props = propertiesOf(meta.params);
  const out: RefParam[] = [];
  for (const [param, s] of Object.entries(props)) {
    const items = subSchema(s.items);
    if (typeof s[PLUGIN_REF_KEYWORD] === 'string') out.push({ param, kind: s[PLUGIN_REF_KEYWORD] as PluginKind, list: false });
    else if (s.type === 'array' && items && typeof items[PLUGIN_REF_KEYWORD] === 'string') out.push({ param, kind: items[PLUGIN_REF_KEYWORD] as PluginKind, list: true });
  }
  return out;
}

export async function validateFile(file: string, opts: ValidateOptions): Promise<ValidationResult> {
  const registry = opts.registry.clone();
  const baseDir = dirname(resolve(file));
  const result = (diagnostics: Diagnostic[], extra: Partial<ValidationResult> = {}): ValidationResult => {
    const ds = sortDiagnostics(diagnostics);
    return { file, diagnostics: ds, ok: !hasErrors(ds), registry, baseDir, ...(opts.dataRoots?.length ? { dataRoots: opts.dataRoots } : {}), ...extra };
  };
  const { composed, diagnostics } = composeExtends(file, opts.sources);
  if (!composed) return result(diagnostics);
  const { root, value: doc, origins } = composed;
  if (!isPlainObject(root.value)) {
    diagnostics.push(diag('SCHEMA_NOT_A_MAPPING', locate(root, []), 'a pipeline file must be a mapping with `pipeline`, `version` and `stages`', 'Start from an example in pipelines/.'));
    return result(diagnostics);
  }

  // Document kind dispatch.
  const kind = doc.pipeline;
  if (kind === undefined) {
    // With a broken `extends`, the key may well be in the base that could not be read: that error stands alone.
    if (!composed.brokenExtends) diagnostics.push(diag('SCHEMA_MISSING_KEY', locate(root, []), 'missing required key `pipeline` (selection | meta | tournament)'));
    return result(diagnostics);
  }
  if (typeof kind !== 'string' || !DOCUMENT_KINDS.includes(kind as DocumentKind)) {
    diagnostics.push(diag('SCHEMA_UNKNOWN_DOCUMENT_KIND', locateIn(origins, ['pipeline']), `unknown document kind ${JSON.stringify(kind)}`, suggestionHint(String(kind), DOCUMENT_KINDS, 'document kinds')));
    return result(diagnostics);
  }
  const schema = DOCUMENT_SCHEMAS[kind as DocumentKind];
  if (!schema) {
    diagnostics.push(diag('SCHEMA_DOCUMENT_KIND_NOT_AVAILABLE', locateIn(origins, ['pipeline']), `'${kind}' documents are not available in this version of Fractal yet`, '`pipeline: selection`, `meta` and `tournament` documents run in this version.'));
    return result(diagnostics);
  }

  // Plugin modules first: they may add stage types that profiles and stages use.
  if (Array.isArray(doc.plugins)) {
    for (let i = 0; i < doc.plugins.length; i++) {
      const spec = doc.plugins[i];
      if (typeof spec !== 'string') continue; // the schema layer reports it
      const at = locateIn(origins, ['plugins', i]);
      const o = origins.get(`/plugins/${i}`);
      const declaring = o && 'src' in o ? o.src.absPath : root.absPath;
      const checked = checkPluginPath(spec, declaring, root.absPath, at);
      if (checked.diagnostic) diagnostics.push(checked.diagnostic);
      else diagnostics.push(...(await loadPluginModule(checked.path!, spec, registry, at)));
    }
  }

  // A tournament's profile and `stages.…` overrides are its base's; its other `--set`s change the document itself.
  const tournament = kind === 'tournament';
  const baseSets = tournament ? applyTournamentSets(doc, origins, opts.sets ?? [], diagnostics) : [];
  const pluginRefParams = (type: string) => {
    const hit = registry.stage(type);
    return hit ? refParams(hit.cls.meta).filter((r) => !r.list).map((r) => r.param) : [];
  };
  if (!tournament) diagnostics.push(...applyOverlays(composed, { profile: opts.profile, sets: opts.sets, stageTypes: registry.resolvableNames('stage'), sources: opts.sources, pluginRefParams }));

  // Document schema (structure only; stage params are checked per stage below).
  // A stage written with an empty `params:` (YAML null) means no params.
  if (Array.isArray(doc.stages)) for (const st of doc.stages) if (isPlainObject(st) && st.params === null) st.params = {};
  const validateDoc = compile(schema);
  if (!validateDoc(doc)) {
    const ds = ajvDiagnostics(validateDoc.errors, [], origins, 'SCHEMA', `a ${kind} document`);
    diagnostics.push(...(composed.brokenExtends ? ds.filter((d) => d.code !== 'SCHEMA_MISSING_KEY') : ds));
  }
  if (typeof doc.lakehouse === 'string') {
    const written = doc.lakehouse;
    doc.lakehouse = rebase(doc.lakehouse, origins, ['lakehouse'], baseDir);
    // Named as written at the location shown (a base file's own path, relative to that file), and where it resolves.
    if (!existsSync(resolve(baseDir, doc.lakehouse as string)))
      diagnostics.push(diag('REF_PATH_NOT_FOUND', locateIn(origins, ['lakehouse']), `lakehouse folder '${written}' (${displayPath(resolve(baseDir, doc.lakehouse as string))}) does not exist (yet)`, 'Fill it with `pipeline-run lakehouse seed|import|ingest`; runs read it read-only.', 'warning'));
  }
  if (doc.version !== undefined && (typeof doc.version === 'string' || typeof doc.version === 'number')) {
    const v = checkVersion(doc.version);
    if (!v.ok) diagnostics.push(diag('SCHEMA_VERSION_UNSUPPORTED', locateIn(origins, ['version']), v.message, v.hint));
  }
  if (tournament) tournamentStages(doc, origins);

  // Where params may read data: the repository, then the data roots declared outside the file.
  const roots = [repositoryOf(root.absPath), ...(opts.dataRoots ?? [])];
  // Plugins: stage types, their params, the plugins they name and those plugins' params.
  const stages: (ResolvedStage & { meta?: StageMeta; index: number })[] = [];
  const rawStages = Array.isArray(doc.stages) ? doc.stages : [];
  rawStages.forEach((raw, index) => {
    if (!isPlainObject(raw) || typeof raw.type !== 'string') return; // the schema layer reports it
    const stagePath: Path = ['stages', index];
    const hit = registry.stage(raw.type);
    if (!hit) {
      diagnostics.push(diag('PLUGIN_UNKNOWN', locateIn(origins, [...stagePath, 'type']), `unknown stage type '${raw.type}'`, suggestionHint(raw.type, registry.names('stage'), 'stage types')));
      return;
    }
    if (hit.alias) diagnostics.push(diag('PLUGIN_DEPRECATED_NAME', locateIn(origins, [...stagePath, 'type']), `stage type '${raw.type}' is deprecated: ${hit.alias.deprecated}`, `Use '${hit.name}'.`, 'warning'));
    const meta = hit.cls.meta;
    if (!meta.documents.includes(kind as DocumentKind)) {
      diagnostics.push(diag('PLUGIN_WRONG_DOCUMENT', locateIn(origins, [...stagePath, 'type']), `stage '${hit.name}' belongs in ${meta.documents.join(' or ')} documents, not in a ${kind} document`));
      return;
    }
    const params = structuredClone(isPlainObject(raw.params) ? raw.params : {});
    const givenInGroups = (meta.exclusive ?? []).map((group) => group.filter((p) => params[p] !== undefined));
    givenInGroups.forEach((given, g) => {
      if (given.length > 1)
        diagnostics.push(diag('PARAM_BAD_VALUE', locateIn(origins, [...stagePath, 'params', given[1]], 'key'), `params of stage '${hit.name}': give only one of ${meta.exclusive![g].map((x) => `'${x}'`).join(', ')} (found ${given.join(' and ')})`));
    });
    applyShorthands(meta, params, [...stagePath, 'params'], origins, diagnostics);
    const checked = checkParams(meta.params, params, [...stagePath, 'params'], origins, STAGE_LABELS[hit.name] ?? `params of stage '${hit.name}'`);
    diagnostics.push(...checked);
    // Defaults filled for the other members of an exclusive group would contradict the one given: drop them.
    givenInGroups.forEach((given, g) => {
      if (given.length === 1) for (const other of meta.exclusive![g]) if (other !== given[0]) delete params[other];
    });
    for (const ref of refParams(meta)) {
      const v = params[ref.param];
      if (v === undefined) continue;
      const refPath: Path = [...stagePath, 'params', ref.param];
      if (ref.list) {
        if (!Array.isArray(v)) continue; // reported by the params schema
        params[ref.param] = v.map((item, i) => resolveRef(item, ref.kind, [...refPath, i], registry, origins, composed, roots, diagnostics));
      } else {
        params[ref.param] = resolveRef(v, ref.kind, refPath, registry, origins, composed, roots, diagnostics);
      }
    }
    checkPaths(meta.params, params, [...stagePath, 'params'], origins, baseDir, roots, diagnostics);
    stages.push({ type: hit.name, params, meta, index });
  });

  // Graph: a stage type appears once, unless the stage says it may repeat.
  const firstOf = new Map<string, number>();
  for (const s of stages) {
    const first = firstOf.get(s.type);
    if (first === undefined) firstOf.set(s.type, s.index);
    else if (!s.meta!.repeatable)
      diagnostics.push(diag('GRAPH_DUPLICATE_STAGE', locateIn(origins, ['stages', s.index, 'type']), `stage '${s.type}' appears twice (stages ${first + 1} and ${s.index + 1})`, `A second '${s.type}' would overwrite or replay the first: keep one, and put its params together.`));
  }

  // Graph: each stage's requires must be provided by the document or an earlier stage.
  const provided = new Map<string, string>(DOCUMENT_PROVIDES[kind as DocumentKind].map((k) => [k, 'the document']));
  const providers = new Map<string, string[]>();
  for (const name of registry.names('stage')) for (const p of registry.stage(name)!.cls.meta.provides) providers.set(p, [...(providers.get(p) ?? []), name]);
  for (const s of stages) {
    for (const r of s.meta!.requires) {
      if (provided.has(r)) continue;
      const who = providers.get(r) ?? [];
      diagnostics.push(diag('GRAPH_MISSING_INPUT', locateIn(origins, ['stages', s.index, 'type']), `stage '${s.type}' requires '${r}', which no earlier stage provides`, who.length ? `'${r}' is provided by: ${who.join(', ')}; add one of them before '${s.type}'.` : `No known stage provides '${r}'.`));
    }
    for (const p of s.meta!.provides) if (!provided.has(p)) provided.set(p, s.type);
  }
  diagnostics.push(...unusedWinners(stages, origins));
  diagnostics.push(...shortDecisionWindow(stages, origins));

  // Meta pipelines: every sleeve is a valid pipeline of the right kind, recursively, with no cycle.
  let sleeves: { resolved: ResolvedSleeve[]; results: Record<string, ValidationResult> } | undefined;
  if (kind === 'meta' && Array.isArray(doc.sleeves)) sleeves = await validateSleeves(doc.sleeves, origins, root.absPath, baseDir, { ...opts, profile: composed.profile?.name ?? opts.profile }, diagnostics);

  // Tournaments: the base, the matrix and every cell (the base with the cell's overrides).
  let matrix: Awaited<ReturnType<typeof validateTournament>> | undefined;
  if (tournament && !hasErrors(diagnostics)) {
    const profile = opts.profile ?? (typeof doc.profile === 'string' ? doc.profile : undefined);
    matrix = await validateTournament(doc, origins, root.absPath, { ...opts, profile, baseSets, sources: opts.sources ?? new Map() }, validateFile, diagnostics);
  }
  const tournamentExtra = matrix ? { ...(matrix.base ? { base: matrix.base } : {}), ...(matrix.cells ? { cells: matrix.cells } : {}) } : {};

  if (hasErrors(diagnostics) || (tournament && !matrix?.resolved)) return result(diagnostics, { composed, ...tournamentExtra });
  const resolved: ResolvedConfig = {
    pipeline: kind as DocumentKind,
    version: String(doc.version),
    name: typeof doc.name === 'string' ? doc.name : basename(root.file, extname(root.file)),
    ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
    ...(Array.isArray(doc.plugins) && doc.plugins.length ? { plugins: (doc.plugins as string[]).map((p, i) => rebase(p, origins, ['plugins', i], baseDir)) } : {}),
    ...(typeof doc.lakehouse === 'string' ? { lakehouse: doc.lakehouse } : {}),
    ...(sleeves ? { sleeves: sleeves.resolved } : {}),
    ...(matrix?.resolved ? { tournament: matrix.resolved } : {}),
    stages: stages.map(({ type, params }) => ({ type, params })),
  };
  // The profile is already applied: it is recorded beside the config (manifest, plan), not in it.
  return result(diagnostics, { resolved, hash: configHash(resolved), composed, ...(sleeves ? { sleeves: sleeves.results } : {}), ...tournamentExtra });
}

/** How params problems name a stage whose params a tournament writes under its own keys. */
const STAGE_LABELS: Record<string, string> = { tournament_compare: 'statistics', tournament_cells: 'cells' };

/**
 * A tournament's stages are fixed: tournament_cells (with `cells.workers`), tournament_compare (with `statistics`)
 * and report. They are written into the document here, their params keeping the origins of the keys they come from.
 */
function tournamentStages(doc: Record<string, unknown>, origins: OriginMap): void {
  const cells = isPlainObject(doc.cells) ? doc.cells : {};
  doc.stages = [
    { type: TOURNAMENT_STAGES[0], params: cells.workers === undefined ? {} : { workers: cells.workers } },
    { type: TOURNAMENT_STAGES[1], params: isPlainObject(doc.statistics) ? structuredClone(doc.statistics) : {} },
    { type: TOURNAMENT_STAGES[2], params: {} },
  ];
  const copy = (from: string, to: string) => {
    for (const [k, o] of [...origins]) if (k === from || k.startsWith(`${from}/`)) origins.set(to + k.slice(from.length), o);
  };
  copy('/cells/workers', '/stages/0/params/workers');
  copy(`/${Object.keys(TOURNAMENT_STAGE_PARAMS)[0]}`, '/stages/1/params');
}

/**
 * The days each decision reads (a backtest's train_window, which it sets as ingestion's lookback_days; ingestion's
 * lookback_days without a backtest) against the features' lookback: a window shorter than the lookback leaves every
 * feature counting missing days, and the filters on completeness then veto every candidate, so every decision holds
 * cash and the run still succeeds. A warning at the window, naming both.
 */
function shortDecisionWindow(stages: (ResolvedStage & { index: number })[], origins: OriginMap): Diagnostic[] {
  const features = stages.find((s) => s.type === 'feature_engineering');
  const lookback = features?.params.lookback;
  if (typeof lookback !== 'number') return [];
  const backtest = stages.find((s) => s.type === 'backtest');
  const ingestion = stages.find((s) => s.type === 'ingestion');
  const [owner, param, days] = backtest ? [backtest, 'train_window', backtest.params.train_window] : [ingestion, 'lookback_days', ingestion?.params.lookback_days];
  // A window out of its own range is reported by its params check already.
  if (!owner || typeof days !== 'number' || days < 2 || days >= lookback) return [];
  return [diag('GRAPH_WINDOW_SHORTER_THAN_LOOKBACK', locateIn(origins, ['stages', owner.index, 'params', param]), `${owner.type} ${param} ${days} gives each decision ${days} days of returns, fewer than feature_engineering's lookback of ${lookback}: every feature counts the missing days, and filters on data completeness may veto every candidate (each decision then holds cash)`, `Raise ${param} to at least ${lookback}, or lower feature_engineering's lookback.`, 'warning')];
}

/**
 * A policy's winners must reach the decision that sets the weights: some stage after the policy and up to the last
 * stage that provides `weights` must require or read `winners` (synthesis, allocation). A pipeline that decides
 * weights before its policy, or by a stage that ignores winners, gets a warning at the policy stage.
 */
function unusedWinners(stages: { type: string; meta?: StageMeta; index: number }[], origins: OriginMap): Diagnostic[] {
  const uses = (s: { meta?: StageMeta }, key: ContextKey) => !!s.meta && (s.meta.requires.includes(key) || !!s.meta.reads?.includes(key));
  const policy = stages.findIndex((s) => s.meta?.provides.includes('winners'));
  const decider = stages.findLastIndex((s) => s.meta?.provides.includes('weights'));
  if (policy < 0 || decider < 0) return [];
  if (stages.slice(policy + 1, decider + 1).some((s) => uses(s, 'winners'))) return [];
  const p = stages[policy];
  const d = stages[decider];
  const why = decider < policy ? `stage '${d.type}' (stages[${d.index}]) decides the weights before it` : `stage '${d.type}' (stages[${d.index}]) decides the weights without reading them`;
  return [diag('GRAPH_WINNERS_UNUSED', locateIn(origins, ['stages', p.index, 'type']), `the winners of stage '${p.type}' are not used: ${why}`, `Put '${p.type}' before the stage that allocates: allocation's universe is the policy's winners (their atoms when a synthesis stage runs between them).`, 'warning')];
}

async function validateSleeves(
  list: unknown[],
  origins: OriginMap,
  rootFile: string,
  baseDir: string,
  opts: ValidateOptions,
  out: Diagnostic[],
): Promise<{ resolved: ResolvedSleeve[]; results: Record<string, ValidationResult> }> {
  const resolved: ResolvedSleeve[] = [];
  const results: Record<string, ValidationResult> = {};
  const stack = [...(opts.stack ?? []), rootFile];
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const sl = list[i];
    if (!isPlainObject(sl) || typeof sl.name !== 'string') continue; // the schema layer reports it
    const at: Path = ['sleeves', i];
    if (seen.has(sl.name)) {
      out.push(diag('REF_SLEEVE_DUPLICATE', locateIn(origins, [...at, 'name']), `sleeve name '${sl.name}' is used twice`, 'Sleeve names identify sleeves in the weights and the tree: make them unique.'));
      continue;
    }
    seen.add(sl.name);
    const given = (['pipeline', 'meta'] as const).filter((k) => typeof sl[k] === 'string');
    if (given.length !== 1) {
      out.push(diag('REF_SLEEVE_INVALID', locateIn(origins, at), `sleeve '${sl.name}' must name exactly one of \`pipeline\` (a selection pipeline) or \`meta\` (a meta pipeline)`));
      continue;
    }
    const key = given[0];
    const spec = sl[key] as string;
    const valueAt = locateIn(origins, [...at, key]);
    const o = origins.get(pointer([...at, key]));
    const declaringDir = o && 'src' in o ? dirname(o.src.absPath) : baseDir;
    const target = resolve(declaringDir, spec);
    const repo = repositoryOf(rootFile);
    if (!rootHolding(target, [repo])) {
      out.push(diag('REF_SLEEVE_OUTSIDE_REPO', valueAt, `sleeve '${sl.name}': ${spec} is outside the meta pipeline's repository (${displayPath(repo)}); it is not read`, 'Sleeves are pipeline files of the same repository.'));
      continue;
    }
    if (!existsSync(target) || !statSync(target).isFile()) {
      out.push(diag('REF_SLEEVE_NOT_FOUND', valueAt, `sleeve '${sl.name}': file not found: ${spec}`, `Paths are relative to the file that names the sleeve (${displayPath(declaringDir)}).`));
      continue;
    }
    if (stack.includes(target)) {
      const chain = [...stack.slice(stack.indexOf(target)), target].map((f) => displayPath(f));
      out.push(diag('REF_META_CYCLE', valueAt, `meta pipelines contain each other: ${chain.join(' -> ')}`, 'A meta pipeline cannot be its own sleeve, directly or through others.'));
      continue;
    }
    const child = await validateFile(target, {
      registry: opts.registry,
      profile: typeof sl.profile === 'string' ? sl.profile : opts.profile,
      // A sleeve's `set:` items point into the meta file when they are wrong.
      sets: Array.isArray(sl.set) ? (sl.set as unknown[]).map((e, k) => ({ expr: String(e), at: locateIn(origins, [...at, 'set', k]) })) : undefined,
      stack,
      dataRoots: opts.dataRoots,
      sources: opts.sources,
    });
    out.push(...child.diagnostics);
    const invalid = namedFileInvalid('REF_SLEEVE_INVALID', valueAt, `sleeve '${sl.name}': ${spec}`, child.diagnostics, "Fix the sleeve's file; a meta pipeline runs only when every sleeve is valid.");
    if (invalid) out.push(invalid);
    if (!child.resolved) continue;
    const expected = key === 'pipeline' ? 'selection' : 'meta';
    if (child.resolved.pipeline !== expected) {
      out.push(diag('REF_SLEEVE_INVALID', valueAt, `sleeve '${sl.name}': ${spec} is a ${child.resolved.pipeline} document, but \`${key}\` takes a ${expected} document`, key === 'pipeline' ? 'Use `meta:` for a meta pipeline.' : 'Use `pipeline:` for a selection pipeline.'));
      continue;
    }
    if (expected === 'selection' && !child.resolved.stages.some((st) => st.type === 'backtest')) {
      out.push(diag('REF_SLEEVE_NO_BACKTEST', valueAt, `sleeve '${sl.name}': ${spec} has no backtest stage`, 'A sleeve is allocated on its out-of-sample (walk-forward) returns: add a backtest stage to it.'));
      continue;
    }
    results[sl.name] = child;
    resolved.push({
      name: sl.name,
      kind: expected,
      file: rebase(spec, origins, [...at, key], baseDir),
      ...(typeof sl.profile === 'string' ? { profile: sl.profile } : {}),
      ...(Array.isArray(sl.set) && sl.set.length ? { set: sl.set as string[] } : {}),
      config_hash: child.hash!,
    });
  }
  return { resolved, results };
}

/** Moves shorthand params into the plugin they belong to (keeping their origins), e.g. inference `weights`. */
function applyShorthands(meta: StageMeta, params: Record<string, unknown>, at: Path, origins: OriginMap, out: Diagnostic[]): void {
  const props = propertiesOf(meta.params);
  for (const [short, candidates] of Object.entries(meta.shorthands ?? {})) {
    if (!(short in params)) continue;
    const refParam = candidates.find((c) => params[c] !== undefined) ?? candidates[candidates.length - 1];
    const given = params[refParam] ?? props[refParam]?.default;
    const isList = Array.isArray(given);
    let ref = isList ? (given as unknown[])[0] : given;
    if (typeof ref === 'string') ref = { name: ref, params: {} };
    if (!isPlainObject(ref)) continue; // leave it: the params schema reports the shorthand or the ref
    const inner = isPlainObject(ref.params) ? ref.params : {};
    if (short in inner) {
      out.push(diag('PARAM_BAD_VALUE', locateIn(origins, [...at, short], 'key'), `'${short}' is given twice: as the stage's shorthand and in the params of ${refParam} '${String(ref.name)}'`, 'Keep one of them.'));
      delete params[short];
      continue;
    }
    ref.params = { ...inner, [short]: params[short] };
    params[refParam] = isList ? [ref, ...(given as unknown[]).slice(1)] : ref;
    delete params[short];
    const from = pointer([...at, short]);
    const to = pointer([...at, refParam, ...(isList ? [0] : []), 'params', short]);
    for (const [k, o] of [...origins]) if (k === from || k.startsWith(`${from}/`)) origins.set(to + k.slice(from.length), o);
  }
}

function checkParams(schema: JsonSchema, params: Record<string, unknown>, at: Path, origins: OriginMap, what: string): Diagnostic[] {
  let fn;
  try {
    fn = compile(schema);
  } catch (err) {
    // A plugin's own schema is broken: say so where it is used instead of crashing validation.
    return [diag('PARAM_INVALID', locateIn(origins, at), `the schema of ${what} is not a valid JSON Schema: ${messageOf(err)}`, 'This is a bug in the plugin, not in the pipeline file.')];
  }
  return fn(params) ? [] : ajvDiagnostics(fn.errors, at, origins, 'PARAM', what);
}

/** A plugin reference (`name` or `{name, params}`) checked against the registry and the plugin's params schema. */
function resolveRef(v: unknown, kind: PluginKind, at: Path, registry: PluginRegistry, origins: OriginMap, composed: Composed, roots: string[], out: Diagnostic[]): PluginRef | unknown {
  let name: unknown;
  let params: unknown = {};
  let namePath = at;
  if (typeof v === 'string') name = v;
  else if (isPlainObject(v)) {
    const extra = Object.keys(v).filter((k) => k !== 'name' && k !== 'params');
    for (const k of extra) out.push(diag('PARAM_UNKNOWN_KEY', locateIn(origins, [...at, k], 'key'), `unknown key '${k}' in ${an(kind)} reference`, suggestionHint(k, ['name', 'params'], 'keys')));
    name = v.name;
    namePath = [...at, 'name'];
    params = v.params ?? {};
    if (!isPlainObject(params)) {
      out.push(diag('PARAM_WRONG_TYPE', locateIn(origins, [...at, 'params']), `params of ${kind} '${String(name)}' must be a mapping`));
      return v;
    }
  }
  if (typeof name !== 'string') {
    out.push(diag(name === undefined && isPlainObject(v) ? 'PARAM_MISSING' : 'PARAM_WRONG_TYPE', locateIn(origins, at), `${an(kind)} is named by a string or by {name, params}, got ${JSON.stringify(v)}`));
    return v;
  }
  const hit = registry.lookup(kind, name);
  if (!hit) {
    out.push(diag('PLUGIN_UNKNOWN', locateIn(origins, namePath), `unknown ${kind} '${name}'`, suggestionHint(name, registry.names(kind), `${kind}s`)));
    return v;
  }
  if (hit.alias) out.push(diag('PLUGIN_DEPRECATED_NAME', locateIn(origins, namePath), `${kind} '${name}' is deprecated: ${hit.alias.deprecated}`, `Use '${hit.name}'.`, 'warning'));
  const p = structuredClone(params as Record<string, unknown>);
  out.push(...checkParams(hit.cls.meta.params, p, [...at, 'params'], origins, `params of ${kind} '${hit.name}'`));
  checkPaths(hit.cls.meta.params, p, [...at, 'params'], origins, dirname(composed.root.absPath), roots, out);
  return { name: hit.name, params: p };
}

/**
 * A relative path is relative to the file that wrote it (an extended base, a profile) or, from --set, to the
 * working directory; in the resolved config it is rewritten relative to the pipeline file, so the resolved
 * config means the same thing wherever it is read from.
 */
function rebase(value: string, origins: OriginMap, path: Path, baseDir: string): string {
  if (isAbsolute(value)) return value;
  const o = origins.get(pointer(path));
  const from = o && 'src' in o ? dirname(o.src.absPath) : o && 'fixed' in o ? process.cwd() : baseDir;
  if (from === baseDir) return value;
  const rel = relative(baseDir, resolve(from, value));
  return rel === '' ? '.' : rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * Every value whose schema is marked x-fractal-path (at any depth: nested params, lists, maps) must name an existing
 * file or folder inside the allowed roots (the repository, declared data roots): one outside is refused before
 * anything reads it. The marker on the schema decides, never the param's name.
 */
function checkPaths(schema: JsonSchema, value: unknown, at: Path, origins: OriginMap, baseDir: string, roots: string[], out: Diagnostic[], set?: (v: string) => void): void {
  if (!isPlainObject(schema)) return;
  const want = schema[PATH_KEYWORD];
  if (typeof want === 'string' && typeof value === 'string') {
    const v = rebase(value, origins, at, baseDir);
    set?.(v);
    checkPath(want, v, at, origins, baseDir, roots, out);
    return;
  }
  if (isPlainObject(value)) {
    const props = propertiesOf(schema);
    const extra = subSchema(schema.additionalProperties);
    for (const k of Object.keys(value)) {
      const s = Object.hasOwn(props, k) ? props[k] : extra;
      if (s) checkPaths(s, value[k], [...at, k], origins, baseDir, roots, out, (nv) => Object.defineProperty(value, k, { value: nv, enumerable: true, writable: true, configurable: true }));
    }
  } else if (Array.isArray(value) && isPlainObject(schema.items)) {
    const items = subSchema(schema.items);
    if (items) value.forEach((item, i) => checkPaths(items, item, [...at, i], origins, baseDir, roots, out, (nv) => (value[i] = nv)));
  }
}

/** The entries of a folder that are links resolving outside every root (names only; the targets are not read). */
function linksOutOf(dir: string, roots: string[]): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isSymbolicLink() && !rootHolding(join(dir, e.name), roots)).map((e) => e.name).sort();
}

function checkPath(want: string, v: string, at: Path, origins: OriginMap, baseDir: string, roots: string[], out: Diagnostic[]): void {
  const name = at.filter((t) => typeof t === 'string').slice(-1)[0] ?? 'path';
  const p = resolve(baseDir, v);
  if (!rootHolding(p, roots)) {
    const [repo, ...data] = roots;
    out.push(diag('REF_PATH_OUTSIDE_ROOTS', locateIn(origins, at), `${name}: '${v}' is outside the pipeline's repository (${displayPath(repo)})${data.length ? ` and the data roots (${data.map(displayPath).join(', ')})` : ''}; it is not read`, 'Params read data only inside the repository or a data root declared outside the file: pass --data-root DIR or set FRACTAL_DATA.'));
    return;
  }
  const st = existsSync(p) ? statSync(p) : undefined;
  const ok = st && (want === 'any' ? st.isFile() || st.isDirectory() : want === 'file' ? st.isFile() : st.isDirectory());
  if (ok) {
    // A folder inside the roots may hold links to files outside them, which a reader of the folder would open.
    const escaping = st!.isDirectory() ? linksOutOf(p, roots) : [];
    if (escaping.length) {
      const [repo, ...data] = roots;
      out.push(diag('REF_PATH_OUTSIDE_ROOTS', locateIn(origins, at), `${name}: '${v}' holds ${escaping.length === 1 ? 'a link' : `${escaping.length} links`} to files outside the pipeline's repository (${displayPath(repo)})${data.length ? ` and the data roots (${data.map(displayPath).join(', ')})` : ''}: ${escaping.slice(0, 5).join(', ')}${escaping.length > 5 ? ', …' : ''}; they are not read`, 'Copy the files into the folder, or declare their folder a data root (--data-root DIR or FRACTAL_DATA).'));
    }
    return;
  }
  const what = want === 'dir' ? 'folder' : want === 'file' ? 'file' : 'file or folder';
  const kindOf = (s: NonNullable<typeof st>) => (s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'device, pipe or socket');
  const message = st ? `${name}: '${v}' is a ${kindOf(st)}, not a ${what}` : `${name}: ${what} '${v}' not found`;
  out.push(diag('REF_PATH_NOT_FOUND', locateIn(origins, at), message, `Relative paths resolve against the pipeline file's folder (${displayPath(baseDir)}).`));
}
