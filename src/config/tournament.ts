/**
 * Tournament documents: the base pipeline, the matrix (dotted paths into the base's params, expanded like a GitHub
 * Actions matrix: the cartesian product of the axes, `exclude` removing partial matches, `include` extending or
 * adding combinations), the cell ids, the champion. Every problem is located: an unknown path at its key (with a
 * "did you mean"), a value the target plugin refuses on the value itself (each cell is the base validated with its
 * overrides as `--set`s that point back into this file), a matrix over `cells.max` before anything else runs.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { dict } from '../util/keyed.js';
import type { JsonSchema, StageMeta } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import { propertiesOf } from '../core/params.js';
import { CLI_LOCATION, type SetExpr } from './compose.js';
import { diag, hasErrors, namedFileInvalid, suggestionHint, type Diagnostic, type Location } from './diagnostics.js';
import { NAME_PATTERN } from './documents.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { dropBelow, isPlainObject, locateIn, pointer, recordOrigins, type OriginMap } from './origins.js';
import { displayPath, type Path } from './source.js';
import { repositoryOf, rootHolding } from './roots.js';
import type { ValidateOptions, ValidationResult } from './validate.js';
import type { ResolvedConfig, ResolvedTournament } from '../core/resolved-config.js';

/** Keys of `matrix` that are not axes. */
const MATRIX_KEYWORDS = ['include', 'exclude'];
/** Above this many combinations the matrix is judged by a bound, not enumerated. */
const ENUMERATION_LIMIT = 100_000;

/** One combination of the matrix: path → value, and where each value is written. */
export interface Combination {
  values: Map<string, unknown>;
  at: Map<string, Path>;
  /** The axes' keys (original values, which an `include` may not overwrite). */
  original: Set<string>;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/**
 * The matrix's combinations, in GitHub Actions' order: the first axis varies slowest; `exclude` removes every
 * combination that matches one of its entries on all the entry's keys; each `include` entry is added to every
 * original combination whose original values it does not change (values added by an earlier include may be
 * overwritten), and becomes a new combination of its own when it fits none.
 */
export function expandMatrix(axes: { path: string; values: unknown[] }[], include: Record<string, unknown>[] = [], exclude: Record<string, unknown>[] = []): Combination[] {
  let combos: Combination[] = axes.length ? [{ values: new Map(), at: new Map(), original: new Set() }] : [];
  for (const axis of axes) {
    const next: Combination[] = [];
    for (const c of combos)
      axis.values.forEach((v, i) => {
        next.push({ values: new Map([...c.values, [axis.path, v]]), at: new Map([...c.at, [axis.path, ['matrix', axis.path, i]]]), original: new Set([...c.original, axis.path]) });
      });
    combos = next;
  }
  combos = combos.filter((c) => !exclude.some((e) => Object.entries(e).every(([k, v]) => c.values.has(k) && same(c.values.get(k), v))));
  const originals = combos.length;
  include.forEach((entry, e) => {
    let fitted = false;
    for (let i = 0; i < originals; i++) {
      const c = combos[i];
      if (!Object.entries(entry).every(([k, v]) => !c.original.has(k) || same(c.values.get(k), v))) continue;
      fitted = true;
      for (const [k, v] of Object.entries(entry)) {
        if (c.original.has(k)) continue;
        c.values.set(k, v);
        c.at.set(k, ['matrix', 'include', e, k]);
      }
    }
    if (!fitted) combos.push({ values: new Map(Object.entries(entry)), at: new Map(Object.keys(entry).map((k) => [k, ['matrix', 'include', e, k]])), original: new Set(Object.keys(entry)) });
  });
  return combos;
}

/**
 * The order a cell's overrides are applied in: a path before the paths inside it, whatever order the matrix writes
 * them in, so an axis over a plugin (`engine`) sets the plugin and an axis inside it (`engine.params.linkage`,
 * `engine.name`) then changes it. Paths of the same depth keep their order.
 */
export function overrideOrder(values: Map<string, unknown>): [string, unknown][] {
  return [...values].sort(([a], [b]) => a.split('.').length - b.split('.').length);
}

/** How many combinations at least (the product less what the excludes could remove at most) and at most. */
export function matrixBounds(axes: { path: string; values: unknown[] }[], include: Record<string, unknown>[], exclude: Record<string, unknown>[]): { min: number; max: number } {
  const product = axes.length ? axes.reduce((n, a) => n * a.values.length, 1) : 0;
  let removable = 0;
  for (const e of exclude) {
    let matching = product;
    for (const [k, v] of Object.entries(e)) {
      const axis = axes.find((a) => a.path === k);
      const hits = axis ? axis.values.filter((x) => same(x, v)).length : 0;
      matching = (matching / (axis?.values.length || 1)) * hits;
    }
    removable += matching;
  }
  return { min: Math.max(0, product - removable), max: product + include.length };
}

/** A value as it appears in a cell id: a plugin reference by its name, a scalar as written, anything else hashed. */
export function idPart(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null) s = String(v);
  else if (isPlainObject(v) && typeof v.name === 'string' && Object.keys(v).every((k) => k === 'name' || k === 'params'))
    s = isPlainObject(v.params) && Object.keys(v.params).length ? `${v.name}-${sha256(canonicalJson(v.params)).slice(0, 6)}` : v.name;
  else s = sha256(canonicalJson(v)).slice(0, 8);
  return s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'x';
}

/** The value at a dotted path of a resolved config (stages addressed by type); undefined when it is not there. */
export function valueAt(config: ResolvedConfig, path: string): unknown {
  const [head, type, ...rest] = path.split('.');
  if (head !== 'stages') return undefined;
  let node: unknown = config.stages.find((s) => s.type === type)?.params;
  for (const k of rest) node = isPlainObject(node) ? node[k] : undefined;
  return node;
}

/** Where a dotted matrix path leads in the base, or what is wrong with it (with the names it could have meant). */
function checkPath(path: string, base: ResolvedConfig, registry: PluginRegistry, varied: Set<string>): { message: string; hint?: string } | undefined {
  const parts = path.split('.');
  const types = [...new Set(base.stages.map((s) => s.type))];
  if (parts[0] !== 'stages' || parts.length < 3 || parts.some((p) => p === ''))
    return { message: `matrix path '${path}' is not of the form stages.<type>.<param>`, hint: `Stage types in the base: ${types.join(', ')}.` };
  const [, type, param, ...rest] = parts;
  const stage = base.stages.find((s) => s.type === type);
  if (!stage) return { message: `matrix path '${path}': the base has no stage '${type}'`, hint: suggestionHint(type, types, 'stage types in the base') };
  const meta = registry.stage(type)!.cls.meta as StageMeta;
  const props = propertiesOf(meta.params);
  const names = [...Object.keys(props), ...Object.keys(meta.shorthands ?? {})];
  if (!names.includes(param)) return { message: `matrix path '${path}': stage '${type}' has no param '${param}'`, hint: suggestionHint(param, names, `params of '${type}'`) };
  if (!rest.length) return undefined;
  let schema: JsonSchema | undefined = props[param];
  let value: unknown = stage.params[param];
  const prefix = [type, param];
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i];
    const at = [...prefix, ...rest.slice(0, i)].join('.');
    const refKind = schema?.['x-fractal-plugin'];
    if (typeof refKind === 'string') {
      // A plugin reference: `name`, or `params.<param of that plugin>`.
      if (key === 'name') return rest.length === i + 1 ? undefined : { message: `matrix path '${path}': '${at}.name' is a name, not a mapping` };
      if (key !== 'params') return { message: `matrix path '${path}': '${at}' is ${refKind === 'engine' ? 'an' : 'a'} ${refKind} reference; only its 'name' and 'params' can be set`, hint: suggestionHint(key, ['name', 'params'], 'keys') };
      const refPath = `stages.${[...prefix, ...rest.slice(0, i)].join('.')}`;
      const name = isPlainObject(value) ? value.name : undefined;
      // The matrix may vary the plugin itself: each cell's validation then checks its params.
      if (varied.has(refPath) || typeof name !== 'string' || i + 1 >= rest.length) return undefined;
      const plugin = registry.lookup(refKind as never, name);
      if (!plugin) return undefined;
      schema = plugin.cls.meta.params;
      value = isPlainObject(value) ? value.params : undefined;
      const pp = propertiesOf(schema);
      const sub = rest[i + 1];
      if (!(sub in pp)) return { message: `matrix path '${path}': ${refKind} '${name}' has no param '${sub}'`, hint: suggestionHint(sub, Object.keys(pp), `params of ${refKind} '${name}'`) };
      schema = pp[sub];
      value = isPlainObject(value) ? value[sub] : undefined;
      i++;
      continue;
    }
    const sp = schema?.properties as Record<string, JsonSchema> | undefined;
    if (sp) {
      if (!(key in sp)) return { message: `matrix path '${path}': '${at}' has no key '${key}'`, hint: suggestionHint(key, Object.keys(sp), 'keys') };
      schema = sp[key];
    } else if (isPlainObject(schema?.additionalProperties) || schema?.type === 'object') schema = (isPlainObject(schema?.additionalProperties) ? schema!.additionalProperties : undefined) as JsonSchema | undefined;
    else return { message: `matrix path '${path}': '${at}' is not a mapping`, hint: 'A matrix path ends at a param or reaches inside a mapping param or a plugin reference.' };
    value = isPlainObject(value) ? value[key] : undefined;
  }
  return undefined;
}

const realPath = (f: string) => {
  try {
    return realpathSync(f);
  } catch {
    return resolve(f);
  }
};

export interface TournamentValidation {
  resolved?: ResolvedTournament;
  base?: ValidationResult;
  cells?: Record<string, ValidationResult>;
}

type ValidateFn = (file: string, opts: ValidateOptions) => Promise<ValidationResult>;

/**
 * The tournament layer: the base, the matrix paths, the cells (each the base validated with its overrides), the
 * ids and the champion. Runs after the document schema; appends to `out`.
 */
export async function validateTournament(
  doc: Record<string, unknown>,
  origins: OriginMap,
  rootFile: string,
  opts: ValidateOptions & { baseSets: SetExpr[] },
  validateFile: ValidateFn,
  out: Diagnostic[],
): Promise<TournamentValidation> {
  if (typeof doc.base !== 'string' || !isPlainObject(doc.matrix)) return {}; // the schema layer reports it
  const baseAt = locateIn(origins, ['base']);
  const o = origins.get(pointer(['base']));
  const declaringDir = o && 'src' in o ? dirname(o.src.absPath) : dirname(rootFile);
  const target = resolve(declaringDir, doc.base);
  const repo = repositoryOf(rootFile);
  // Checked before anything opens it, links resolved: a base is a pipeline file of the tournament's repository.
  if (!rootHolding(target, [repo])) {
    out.push(diag('REF_TOURNAMENT_BASE_OUTSIDE_REPO', baseAt, `the base ${doc.base} is outside the tournament's repository (${displayPath(repo)}); it is not read`, 'A tournament sweeps a pipeline file of its own repository.'));
    return {};
  }
  if (!existsSync(target) || !statSync(target).isFile()) {
    out.push(diag('REF_TOURNAMENT_BASE_INVALID', baseAt, `base pipeline not found: ${doc.base}`, `Paths are relative to the file that names the base (${displayPath(declaringDir)}).`));
    return {};
  }
  // A tournament that is its own base, directly or through others: refused before the recursion that would not end.
  const stack = [...(opts.stack ?? []), rootFile];
  const loop = stack.map(realPath).indexOf(realPath(target));
  if (loop >= 0) {
    const chain = [...stack.slice(loop), target].map((f) => displayPath(f));
    out.push(diag('REF_TOURNAMENT_BASE_INVALID', baseAt, `the base ${doc.base} is a tournament that leads back to this one: ${chain.join(' -> ')}`, "A tournament's base is a selection or meta pipeline."));
    return {};
  }
  const profile = opts.profile;
  const base = await validateFile(target, { registry: opts.registry, profile, sets: opts.baseSets, stack: [...(opts.stack ?? []), rootFile], sources: opts.sources, dataRoots: opts.dataRoots });
  out.push(...base.diagnostics);
  const invalid = namedFileInvalid('REF_TOURNAMENT_BASE_INVALID', baseAt, `the base ${doc.base}`, base.diagnostics, 'Fix the base pipeline; every cell is that file with its overrides.');
  if (invalid) out.push(invalid);
  if (!base.resolved) return {};
  const kind = base.resolved.pipeline;
  if (kind === 'tournament') {
    out.push(diag('REF_TOURNAMENT_BASE_INVALID', baseAt, `the base ${doc.base} is a tournament; a tournament's base is a selection or meta pipeline`));
    return {};
  }
  if (kind === 'selection' && !base.resolved.stages.some((s) => s.type === 'backtest')) {
    out.push(diag('REF_TOURNAMENT_BASE_INVALID', baseAt, `the base ${doc.base} has no backtest stage`, 'Cells are compared on their out-of-sample (walk-forward) returns: add a backtest stage to the base.'));
    return {};
  }

  // Paths: every axis, include key and exclude key must reach a param of the base.
  const matrix = doc.matrix;
  const axisKeys = Object.keys(matrix).filter((k) => !MATRIX_KEYWORDS.includes(k));
  const axes = axisKeys.filter((k) => Array.isArray(matrix[k])).map((k) => ({ path: k, values: matrix[k] as unknown[] }));
  const include = (Array.isArray(matrix.include) ? matrix.include : []).filter(isPlainObject) as Record<string, unknown>[];
  const exclude = (Array.isArray(matrix.exclude) ? matrix.exclude : []).filter(isPlainObject) as Record<string, unknown>[];
  const varied = new Set([...axisKeys, ...include.flatMap((e) => Object.keys(e))]);
  const before = out.length;
  // .nan and .inf take no param's value, and as JSON they would read as null: named where they are written.
  const nonFinite = (v: unknown): boolean => (typeof v === 'number' ? !Number.isFinite(v) : Array.isArray(v) ? v.some(nonFinite) : isPlainObject(v) ? Object.values(v).some(nonFinite) : false);
  const badValue = (v: unknown, at: Path) => {
    if (nonFinite(v)) out.push(diag('PARAM_WRONG_TYPE', locateIn(origins, at), `matrix value at ${at.slice(1).join('.')} is or holds .nan or .inf (or a literal too large for a double, read as .inf): no param takes it`, 'Write a finite number.'));
  };
  axes.forEach((a) => a.values.forEach((v, i) => badValue(v, ['matrix', a.path, i])));
  include.forEach((e, i) => Object.entries(e).forEach(([k, v]) => badValue(v, ['matrix', 'include', i, k])));
  if (out.length > before) return {};
  const pathProblem = (path: string, at: Path) => {
    const problem = checkPath(path, base.resolved!, base.registry, varied);
    if (problem) out.push(diag('REF_MATRIX_UNKNOWN_PATH', locateIn(origins, at, 'key'), problem.message, problem.hint));
  };
  for (const k of axisKeys) pathProblem(k, ['matrix', k]);
  include.forEach((e, i) => Object.keys(e).forEach((k) => pathProblem(k, ['matrix', 'include', i, k])));
  exclude.forEach((e, i) =>
    Object.keys(e).forEach((k) => {
      if (!axisKeys.includes(k)) out.push(diag('REF_MATRIX_UNKNOWN_PATH', locateIn(origins, ['matrix', 'exclude', i, k], 'key'), `exclude names '${k}', which is not an axis of the matrix`, suggestionHint(k, axisKeys, 'axes')));
    }),
  );
  const heatmap = isPlainObject(doc.report) && Array.isArray(doc.report.heatmap) ? (doc.report.heatmap as string[]) : null;
  heatmap?.forEach((h, i) => {
    if (typeof h === 'string' && !axisKeys.includes(h)) out.push(diag('REF_MATRIX_UNKNOWN_PATH', locateIn(origins, ['report', 'heatmap', i]), `report.heatmap names '${h}', which is not an axis of the matrix`, suggestionHint(h, axisKeys, 'axes')));
  });
  // What the matrix alone says about its size and its ids, checked whatever else is wrong (every problem at once).
  const cellsDoc = isPlainObject(doc.cells) ? doc.cells : {};
  const max = typeof cellsDoc.max === 'number' ? cellsDoc.max : 200;
  const matrixAt = locateIn(origins, ['matrix'], 'key');
  const template = typeof cellsDoc.id === 'string' ? cellsDoc.id : undefined;
  const idAt = template ? locateIn(origins, ['cells', 'id']) : matrixAt;
  const tooLarge = (bounds: { min: number; max: number }) =>
    diag('SCHEMA_MATRIX_TOO_LARGE', matrixAt, `the matrix makes at least ${bounds.min} cells, more than cells.max (${max})`, `${axes.map((a) => `${a.values.length} ${a.path.split('.').pop()}`).join(' × ')}: narrow the axes, exclude combinations, or raise cells.max.`);
  const checkIdPlaceholders = () => {
    const placeholders = template ? [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]) : [];
    const lastSegments = [...varied].map((p) => p.split('.').pop()!);
    for (const ph of new Set(placeholders)) {
      const full = varied.has(ph);
      const bySegment = [...varied].filter((p) => p.split('.').pop() === ph);
      if (!full && bySegment.length > 1) out.push(diag('REF_CELL_ID_INVALID', idAt, `cells.id: '{${ph}}' could be ${bySegment.join(' or ')}`, `Write the whole path, e.g. {${bySegment[0]}}.`));
      else if (!full && !bySegment.length && valueAt(base.resolved!, ph) === undefined)
        out.push(diag('REF_CELL_ID_INVALID', idAt, `cells.id: '{${ph}}' names no matrix path`, suggestionHint(ph, [...new Set(lastSegments)], 'matrix paths (last segments)')));
    }
  };
  checkIdPlaceholders();
  // The ids as the matrix alone gives them (every placeholder an axis or include key, every combination holding it),
  // else undefined: then a placeholder takes the base's value, which only the validated cells can give.
  const pathOf = (ph: string) => (varied.has(ph) ? ph : [...varied].filter((x) => x.split('.').pop() === ph).length === 1 ? [...varied].find((x) => x.split('.').pop() === ph) : undefined);
  const placeholders = template ? [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]) : [];
  const idsFromMatrix = (combos: Combination[]): string[] | undefined => {
    if (!combos.length || !placeholders.every((ph) => pathOf(ph) !== undefined)) return undefined;
    if (!combos.every((c) => placeholders.every((ph) => c.values.has(pathOf(ph)!)))) return undefined;
    return combos.map((c) => (template ? template.replace(/\{([^{}]*)\}/g, (_m, ph: string) => idPart(c.values.get(pathOf(ph)!))) : [...c.values.values()].map(idPart).join('_')));
  };
  const namedChampion = typeof doc.champion === 'string' ? doc.champion : undefined;
  const championUnknown = (named: string, ids: string[]) => diag('REF_CHAMPION_UNKNOWN', locateIn(origins, ['champion']), `champion '${named}' is not a cell of this tournament`, knownIdsHint(named, ids));
  /** What is wrong with ids whatever the cells' configs: ids no folder can have, and the champion. */
  const idsAlone = (ids: string[]) => [...idFormatProblems(ids, idAt), ...(namedChampion !== undefined && !ids.includes(namedChampion) ? [championUnknown(namedChampion, ids)] : [])];
  if (out.length > before && hasErrors(out.slice(before))) {
    // No cell can be made, but each value of an axis and each include entry whose paths do reach a param is checked
    // alone (the base with those overrides), so one pass also reports the bad values; so are the ids and the champion
    // when the matrix alone gives them.
    const seen = new Set<string>(base.diagnostics.map(key));
    const checkAlone = async (overrides: Map<string, unknown>, at: (path: string) => Path) => {
      const sets: SetExpr[] = [...opts.baseSets, ...overrideOrder(overrides).map(([path, v]) => ({ expr: `${path}=${canonicalJson(v)}`, at: locateIn(origins, at(path)) }))];
      const r = await validateFile(target, { registry: opts.registry, profile, sets, stack: [...(opts.stack ?? []), rootFile], sources: opts.sources, dataRoots: opts.dataRoots });
      for (const d of r.diagnostics) {
        if (seen.has(key(d))) continue;
        seen.add(key(d));
        out.push(d);
      }
    };
    const reaches = (path: string) => !checkPath(path, base.resolved!, base.registry, varied);
    for (const a of axes.filter((x) => reaches(x.path))) for (const [i, v] of a.values.entries()) await checkAlone(new Map([[a.path, v]]), () => ['matrix', a.path, i]);
    for (const [e, entry] of include.entries()) {
      const good = Object.entries(entry).filter(([path]) => reaches(path));
      if (good.length) await checkAlone(new Map(good), (path) => ['matrix', 'include', e, path]);
    }
    const bounds = matrixBounds(axes, include, exclude);
    if (bounds.min > max) out.push(tooLarge(bounds));
    const ids = bounds.max <= ENUMERATION_LIMIT ? idsFromMatrix(expandMatrix(axes, include, exclude)) : undefined;
    if (ids) out.push(...idsAlone(ids));
    return { base };
  }

  // Size, before anything is enumerated or validated.
  const bounds = matrixBounds(axes, include, exclude);
  if (bounds.min > max || bounds.max > ENUMERATION_LIMIT) {
    out.push(tooLarge(bounds));
    return { base };
  }
  const combos = expandMatrix(axes, include, exclude);
  if (combos.length > max) {
    out.push(diag('SCHEMA_MATRIX_TOO_LARGE', matrixAt, `the matrix makes ${combos.length} cells, more than cells.max (${max})`, 'Narrow the axes, exclude combinations, or raise cells.max.'));
    return { base };
  }
  if (!combos.length) {
    out.push(diag('SCHEMA_MATRIX_EMPTY', matrixAt, 'the matrix makes no cells', axes.length ? 'Every combination is excluded.' : 'Give at least one axis (a path and a list of values) or one `include` entry.'));
    return { base };
  }
  const axisCombos = exclude.length ? expandMatrix(axes) : [];
  exclude.forEach((e, i) => {
    if (!axisCombos.some((c) => Object.entries(e).every(([k, v]) => same(c.values.get(k), v))))
      out.push(diag('REF_MATRIX_EXCLUDE_UNMATCHED', locateIn(origins, ['matrix', 'exclude', i]), 'this exclude entry matches no combination of the matrix', 'Check its values against the axes (a value must be written exactly as in the axis).', 'warning'));
  });

  // Each cell: the base with its overrides, every override pointing at the value that set it.
  const cellResults: ValidationResult[] = [];
  const seen = new Set<string>(base.diagnostics.map(key));
  for (const c of combos) {
    const sets: SetExpr[] = [...opts.baseSets, ...overrideOrder(c.values).map(([path, v]) => ({ expr: `${path}=${canonicalJson(v)}`, at: locateIn(origins, c.at.get(path)!) }))];
    const r = await validateFile(target, { registry: opts.registry, profile, sets, stack: [...(opts.stack ?? []), rootFile], sources: opts.sources, dataRoots: opts.dataRoots });
    for (const d of r.diagnostics) {
      if (seen.has(key(d))) continue;
      seen.add(key(d));
      out.push(pluginParamHint(d, c, origins));
    }
    cellResults.push(r);
  }
  if (cellResults.some((r) => !r.ok)) {
    const ids = idsFromMatrix(combos);
    if (ids) out.push(...idsAlone(ids));
    return { base };
  }

  // Ids: the template, or the cell's values joined; the base as written is a cell of its own unless one equals it.
  if (hasErrors(out)) return { base };
  const render = (c: Combination, r: ValidationResult): string => {
    if (!template) return c.values.size ? [...c.values.values()].map(idPart).join('_') : 'base';
    return template.replace(/\{([^{}]*)\}/g, (_m, ph: string) => {
      const path = c.values.has(ph) ? ph : [...c.values.keys()].find((p) => p.split('.').pop() === ph) ?? [...varied].find((p) => p.split('.').pop() === ph) ?? ph;
      return idPart(c.values.has(path) ? c.values.get(path) : valueAt(r.resolved!, path));
    });
  };
  const cells: (ResolvedTournament['cells'][number] & { result: ValidationResult })[] = combos.map((c, i) => ({
    id: render(c, cellResults[i]),
    // In the order they apply: a cell run again (the worker, a standalone --set) resolves to the same config.
    overrides: Object.fromEntries(overrideOrder(c.values)),
    config_hash: cellResults[i].hash!,
    result: cellResults[i],
  }));
  const baseCell = cells.find((c) => c.config_hash === base.hash);
  let champion = typeof doc.champion === 'string' ? doc.champion : baseCell?.id;
  if (champion === undefined) {
    champion = 'base';
    cells.push({ id: 'base', overrides: {}, config_hash: base.hash!, result: base });
  }
  // One configuration is one trial: cells that resolve to the same config are refused at the value that repeats, and
  // their shared id (if they share one) is that problem, not the template's.
  const repeated = repeatedCells(combos, cells, axes, origins);
  out.push(...repeated.diagnostics);
  const ids = new Map<string, number>();
  for (const c of cells) ids.set(c.id, (ids.get(c.id) ?? 0) + 1);
  const idsOfDistinct = new Map<string, number>();
  cells.forEach((c, i) => repeated.cells.has(i) || idsOfDistinct.set(c.id, (idsOfDistinct.get(c.id) ?? 0) + 1));
  const dup = [...idsOfDistinct].filter(([, n]) => n > 1).map(([id]) => id);
  const namesEveryPath = template !== undefined && [...varied].every((p) => template.includes(`{${p}}`) || template.includes(`{${p.split('.').pop()}}`));
  if (dup.length)
    out.push(
      diag(
        'REF_CELL_ID_INVALID',
        idAt,
        `cell ids must be unique; ${dup.map((d) => `'${d}'`).join(', ')} name more than one cell`,
        namesEveryPath
          ? "cells.id names every matrix path, but these cells' values read the same in an id (characters outside A-Za-z0-9_.- become -): add text that tells them apart."
          : template
            ? 'Add the axes that tell these cells apart to cells.id.'
            : 'Give cells.id a template naming every axis, e.g. "{engine}_{step_size}".',
      ),
    );
  out.push(...idsAlone([...ids.keys()]));
  if (hasErrors(out)) return { base };

  const baseSets = opts.baseSets.map((s) => (typeof s === 'string' ? s : s.expr));
  const resolved: ResolvedTournament = {
    base: {
      file: relative(dirname(rootFile), target) || '.',
      kind: kind as 'selection' | 'meta',
      config_hash: base.hash!,
      ...(base.composed?.profile ? { profile: base.composed.profile.name } : {}),
      ...(baseSets.length ? { set: baseSets } : {}),
    },
    champion,
    axes,
    cells: cells.map(({ id, overrides, config_hash }) => ({ id, overrides, config_hash })),
    cells_max: max,
    report: { heatmap, top: isPlainObject(doc.report) && typeof doc.report.top === 'number' ? doc.report.top : 5 },
  };
  return { resolved, base, cells: dict(cells.map((c) => [c.id, c.result] as const)) };
}

const key = (d: Diagnostic) => `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;

/**
 * "Did you mean", and the cell ids: the list a long matrix would replace by `pipeline-run plugins` (which lists no
 * cells) is given, cut where it would fill the screen.
 */
function knownIdsHint(named: string, ids: string[]): string {
  const SHOWN = 40;
  const list = ids.length <= SHOWN ? ids.join(', ') : `${ids.slice(0, SHOWN).join(', ')} and ${ids.length - SHOWN} more (\`pipeline-run plan\` lists every cell)`;
  return suggestionHint(named, ids, 'cell ids', `Known cell ids: ${list}.`);
}

/** Ids no cell can have: 'date' (a column of cell_returns.arrow) and ids that are no folder name. */
function idFormatProblems(ids: string[], idAt: Location): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (ids.includes('date')) out.push(diag('REF_CELL_ID_INVALID', idAt, "'date' cannot be a cell id: it is the date column of cell_returns.arrow", 'Name the cell otherwise (cells.id).'));
  const bad = ids.find((id) => !new RegExp(NAME_PATTERN).test(id));
  if (bad !== undefined) out.push(diag('REF_CELL_ID_INVALID', idAt, `cell id '${bad}' is not a folder name (letters, digits, _ . and -)`, "Cell ids name the cells' run folders."));
  return out;
}

const written = (v: unknown) => (typeof v === 'string' ? v : canonicalJson(v));

/**
 * Cells that resolve to the config of an earlier cell (same config hash): the same value twice in an axis, the same
 * include entry twice, or two values that differ only as written (a plugin's default spelled out). Each would run the
 * same thing and count again as a trial (the deflated Sharpe's N, Holm's m). One error per place that causes it,
 * at the later of the two values, naming every pair of cells it makes.
 */
function repeatedCells(combos: Combination[], cells: { id: string; config_hash: string }[], axes: { path: string; values: unknown[] }[], origins: OriginMap): { diagnostics: Diagnostic[]; cells: Set<number> } {
  const idCount = new Map<string, number>();
  for (const c of cells) idCount.set(c.id, (idCount.get(c.id) ?? 0) + 1);
  const label = (i: number) => (idCount.get(cells[i].id)! > 1 ? `'${cells[i].id}' (cell ${i + 1})` : `'${cells[i].id}'`);
  const earlier = new Map<string, number[]>();
  const byPlace = new Map<string, { at: Path; what: string; hint: string; pairs: string[] }>();
  const repeats = new Set<number>();
  combos.forEach((later, i) => {
    const before = earlier.get(cells[i].config_hash) ?? [];
    earlier.set(cells[i].config_hash, [...before, i]);
    if (!before.length) return;
    repeats.add(i);
    // Compared with the nearest earlier cell written the same way (an entry given a third time repeats the second),
    // else with the first of that config.
    const j = before.findLast((k) => combos[k].values.size === later.values.size && [...later.values].every(([p, v]) => combos[k].values.has(p) && same(combos[k].values.get(p), v))) ?? before[0];
    const why = whyRepeated(combos[j], later, label(j), axes);
    const place = byPlace.get(pointer(why.at)) ?? { ...why, pairs: [] };
    place.pairs.push(`${label(j)} and ${label(i)} (config ${cells[i].config_hash.slice(0, 12)})`);
    byPlace.set(pointer(why.at), place);
  });
  const diagnostics = [...byPlace.values()].map((p) => diag('REF_MATRIX_DUPLICATE_CELL', locateIn(origins, p.at), `${p.what}: cells ${p.pairs.join(', ')} are one configuration`, p.hint));
  return { diagnostics, cells: repeats };
}

const COUNTED_TWICE = "Each cell counts as a trial (the deflated Sharpe's N, Holm's m): one configuration must count once.";

/** Where two cells of one config part ways in the matrix, and what that says: the value that repeats or adds nothing. */
function whyRepeated(first: Combination, later: Combination, firstLabel: string, axes: { path: string; values: unknown[] }[]): { at: Path; what: string; hint: string } {
  const paths = [...new Set([...first.values.keys(), ...later.values.keys()])];
  const differs = paths.filter((p) => !(first.values.has(p) && later.values.has(p) && same(first.values.get(p), later.values.get(p))));
  // Values that differ as written but not once composed: a default spelled out, a plugin by name and as {name}.
  const p = differs.find((x) => later.values.has(x)) ?? differs[0];
  if (p !== undefined) {
    const [combo, other] = later.values.has(p) ? [later, first] : [first, later];
    const at = combo.at.get(p)!;
    const what = other.values.has(p)
      ? `${p}: ${written(combo.values.get(p))} resolves to the same configuration as ${written(other.values.get(p))}`
      : `${p}: ${written(combo.values.get(p))} changes nothing (it is the value the base gives that cell)`;
    return { at, what, hint: `The two values differ only as written (a default spelled out, a plugin by name and as {name, params}): keep one. ${COUNTED_TWICE}` };
  }
  // The same values as written, from two places: a value repeated in an axis, an include entry given twice.
  const moved = paths.find((x) => pointer(first.at.get(x)!) !== pointer(later.at.get(x)!));
  if (moved === undefined) return { at: ['matrix'], what: `the matrix gives the same cell as ${firstLabel} twice`, hint: COUNTED_TWICE };
  const at = later.at.get(moved)!;
  const was = first.at.get(moved)!;
  if (at[1] === 'include') {
    const entry = `include entry ${Number(at[2]) + 1}`;
    const what = was[1] === 'include' ? `${entry} repeats include entry ${Number(was[2]) + 1}` : `${entry} repeats the values of cell ${firstLabel}`;
    return { at: at.slice(0, 3), what, hint: `Remove the repeated entry. ${COUNTED_TWICE}` };
  }
  const value = later.values.get(moved);
  const times = axes.find((a) => a.path === moved)?.values.filter((v) => same(v, value)).length ?? 2;
  return { at, what: `${written(value)} appears ${times === 2 ? 'twice' : `${times} times`} in ${moved}`, hint: `Remove the repeated value. ${COUNTED_TWICE}` };
}

/**
 * A param the matrix gives a plugin that does not take it (an `engine.params.linkage` axis beside an engine axis that
 * has min_variance): said in the matrix's terms, since the cell's plugin comes from another axis or from the base.
 */
function pluginParamHint(d: Diagnostic, c: Combination, origins: OriginMap): Diagnostic {
  if (d.code !== 'PARAM_UNKNOWN_KEY') return d;
  const at = (p: string) => locateIn(origins, c.at.get(p)!);
  const path = [...c.values.keys()].find((p) => /\.params\.[^.]+$/.test(p) && at(p).file === d.file && at(p).line === d.line && at(p).column === d.column);
  if (!path) return d;
  const ref = path.slice(0, path.lastIndexOf('.params.'));
  const param = path.slice(ref.length + '.params.'.length);
  return { ...d, hint: `This cell's ${ref} takes no '${param}': leave such cells out with \`exclude\`, or give the param only where it applies (an \`include\` entry, or {name, params} in the ${ref} axis).` };
}

/**
 * `--set` on a tournament: a `stages.…` path overrides the base (every cell); any other path sets a key of the
 * tournament document itself (`matrix.<axis path>=[…]`, `statistics.bootstrap.resamples=200`, `cells.max=8`).
 */
export function applyTournamentSets(doc: Record<string, unknown>, origins: OriginMap, sets: SetExpr[], out: Diagnostic[]): SetExpr[] {
  const baseSets: SetExpr[] = [];
  for (const s of sets) {
    const expr = typeof s === 'string' ? s : s.expr;
    const at: Location = typeof s === 'string' ? CLI_LOCATION(`--set ${expr}`) : s.at;
    const eq = expr.indexOf('=');
    if (eq <= 0) {
      out.push(diag('REF_SET_INVALID', at, `--set expects <path>=<value>, got '${expr}'`, 'e.g. --set statistics.bootstrap.resamples=500'));
      continue;
    }
    const path = expr.slice(0, eq).trim();
    if (path.startsWith('stages.')) {
      baseSets.push(s);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(expr.slice(eq + 1));
    } catch {
      value = expr.slice(eq + 1);
    }
    const parts = path.split('.');
    // The rest of a matrix path is one key: the axis's own dotted path.
    const keys: string[] = parts[0] === 'matrix' && parts.length > 1 ? ['matrix', parts.slice(1).join('.')] : parts;
    if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
      out.push(diag('REF_SET_UNKNOWN_PATH', at, `--set path '${path}' is not usable`));
      continue;
    }
    let node = doc;
    let ok = true;
    for (let k = 0; k < keys.length - 1 && ok; k++) {
      const next = Object.hasOwn(node, keys[k]) ? node[keys[k]] : undefined;
      if (next === undefined) node[keys[k]] = {};
      else if (!isPlainObject(next)) {
        out.push(diag('REF_SET_UNKNOWN_PATH', at, `--set cannot reach '${path}': '${keys.slice(0, k + 1).join('.')}' is not a mapping`));
        ok = false;
        break;
      }
      node = node[keys[k]] as Record<string, unknown>;
    }
    if (!ok) continue;
    node[keys[keys.length - 1]] = value;
    dropBelow(origins, pointer(keys));
    recordOrigins(origins, value, keys, () => ({ fixed: at }));
  }
  return baseSets;
}
