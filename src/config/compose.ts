/**
 * Composition: the file, the files it `extends` (deep merge, lists replaced, cycles refused), the profile (stage
 * params keyed by stage type; `--profile` beats `profile:`), then `--set stages.<type>.<param>=<value>` overrides.
 * The result keeps an origin for every value so later diagnostics point into the file that set it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { diag, suggestionHint, type Diagnostic, type Location } from './diagnostics.js';
import { deepMerge, fromSource, isPlainObject, locateIn, pointer, recordOrigins, type OriginMap } from './origins.js';
import { displayPath, loadSource, locate, type SourceDoc } from './source.js';
import { repoRootOf, repositoryOf, rootHolding } from './roots.js';

/** A --set override; from a meta file's sleeve `set:` it carries its own location. */
export type SetExpr = string | { expr: string; at: Location };

/** Files already read in one validation (a tournament validates its base once per cell): path → what was read. */
export type SourceCache = Map<string, ReturnType<typeof loadSource>>;

const load = (path: string, cache?: SourceCache) => {
  if (!cache) return loadSource(path);
  const key = resolve(path);
  if (!cache.has(key)) cache.set(key, loadSource(path));
  return cache.get(key)!;
};

export interface OverlayOptions {
  /** Files already read in this validation. */
  sources?: SourceCache;
  /** --profile: beats the file's own `profile:`. */
  profile?: string;
  /** --set values, in order (later wins). */
  sets?: SetExpr[];
  /** Stage types the registry knows (for profile keys), including the pipeline's own plugin modules. */
  stageTypes: string[];
  /** The params of a stage type that name one plugin (a name, or {name, params}): a --set may reach through them. */
  pluginRefParams?: (stageType: string) => string[];
}

export interface Composed {
  root: SourceDoc;
  value: Record<string, unknown>;
  origins: OriginMap;
  /** Every file read, root first (for the manifest and the references layer). */
  files: string[];
  profile?: { name: string; file: string };
  /** An `extends` could not be followed: keys the missing base would have given are not reported missing. */
  brokenExtends?: boolean;
}

export const CLI_LOCATION = (what: string): Location => ({ file: `<command line: ${what}>`, line: 1, column: 1 });

export { repoRootOf };

/** Reads the file and everything it extends, merged base-first. */
export function composeExtends(file: string, sources?: SourceCache): { composed?: Composed; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const loaded = load(file, sources);
  diagnostics.push(...loaded.diagnostics);
  const root = loaded.source;
  if (!root) return { diagnostics };
  if (!isPlainObject(root.value)) {
    diagnostics.push(diag('SCHEMA_NOT_A_MAPPING', locate(root, []), 'a pipeline file must be a mapping with `pipeline`, `version` and `stages`', 'Start from an example in pipelines/.'));
    return { diagnostics };
  }

  // The extends chain, child first; merged base-first below.
  const chain: SourceDoc[] = [root];
  const seen = [root.absPath];
  let broken = false;
  for (let cur = root; ; ) {
    const ext = (cur.value as Record<string, unknown>).extends;
    if (ext === undefined) break;
    broken = true; // until the base is read
    if (typeof ext !== 'string' || ext.trim() === '') {
      diagnostics.push(diag('SCHEMA_WRONG_TYPE', locate(cur, ['extends']), '`extends` must be a relative path to another pipeline file', 'e.g. extends: ./base/crypto_spot.yaml'));
      break;
    }
    if (isAbsolute(ext)) {
      diagnostics.push(diag('SCHEMA_BAD_VALUE', locate(cur, ['extends']), `\`extends\` must be a relative path, got the absolute path ${ext}`, 'Pipelines move between machines and checkouts: write the path relative to this file.'));
      break;
    }
    const target = resolve(dirname(cur.absPath), ext);
    // Config comes from the pipeline's repository only: a `..` escape or a link out is refused before it is read.
    const repo = repositoryOf(root.absPath);
    if (!rootHolding(target, [repo])) {
      diagnostics.push(diag('REF_EXTENDS_OUTSIDE_REPO', locate(cur, ['extends']), `\`extends\` names a file outside the pipeline's repository (${displayPath(repo)}): ${ext}`, 'A pipeline extends files of its own repository; copy the base into it.'));
      break;
    }
    if (seen.includes(target)) {
      const names = [...seen, target].map((p) => relName(root, p));
      diagnostics.push(diag('REF_EXTENDS_CYCLE', locate(cur, ['extends']), `\`extends\` forms a cycle: ${names.join(' -> ')}`, 'A file may not extend itself, directly or through others.'));
      break;
    }
    if (!existsSync(target) || !statSync(target).isFile()) {
      diagnostics.push(diag('REF_EXTENDS_NOT_FOUND', locate(cur, ['extends']), `\`extends\` names a file that does not exist: ${ext}`, `Looked for ${displayPath(target)} (paths are relative to the file that says \`extends\`).`));
      break;
    }
    const base = load(target, sources);
    diagnostics.push(...base.diagnostics);
    if (!base.source) break;
    if (!isPlainObject(base.source.value)) {
      diagnostics.push(diag('SCHEMA_NOT_A_MAPPING', locate(base.source, []), `extended file ${base.source.file} is not a mapping`));
      break;
    }
    broken = false;
    chain.push(base.source);
    seen.push(target);
    cur = base.source;
  }

  const origins: OriginMap = new Map();
  let value: unknown = {};
  for (const src of [...chain].reverse()) {
    const layer: OriginMap = new Map();
    recordOrigins(layer, src.value, [], fromSource(src));
    value = deepMerge(value, src.value, '', origins, layer);
  }
  const doc = value as Record<string, unknown>;
  delete doc.extends;
  const composed: Composed = { root, value: doc, origins, files: chain.map((s) => s.file), ...(broken ? { brokenExtends: true } : {}) };
  return { composed, diagnostics };
}

/** Applies the profile, then the --set overrides, in place. */
export function applyOverlays(composed: Composed, opts: OverlayOptions): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const { value: doc, origins } = composed;
  const profileName = opts.profile ?? (typeof doc.profile === 'string' ? doc.profile : undefined);
  if (profileName !== undefined) {
    const at = opts.profile !== undefined ? CLI_LOCATION(`--profile ${opts.profile}`) : locateIn(origins, ['profile']);
    applyProfile(composed, profileName, at, opts.stageTypes, diagnostics, opts.sources);
  }

  // --set last: the command line wins.
  for (const s of opts.sets ?? []) applySet(composed, s, diagnostics, opts.pluginRefParams);
  return diagnostics;
}

function relName(root: SourceDoc, abs: string): string {
  const r = dirname(root.absPath);
  return abs.startsWith(`${r}/`) ? abs.slice(r.length + 1) : abs;
}

/** The profiles/ folders a pipeline can see: from its folder upwards, to the repository root. */
function profileDirs(pipelineFile: string): string[] {
  const stop = repoRootOf(pipelineFile);
  const dirs: string[] = [];
  let dir = dirname(resolve(pipelineFile));
  for (;;) {
    if (existsSync(join(dir, 'profiles'))) dirs.push(join(dir, 'profiles'));
    if (dir === stop) return dirs;
    const up = dirname(dir);
    if (up === dir) return dirs;
    dir = up;
  }
}

/** profiles/<name>.(yaml|yml|json), the nearest one. */
export function findProfile(pipelineFile: string, name: string): string | undefined {
  for (const dir of profileDirs(pipelineFile))
    for (const ext of ['yaml', 'yml', 'json']) {
      const p = join(dir, `${name}.${ext}`);
      if (existsSync(p)) return p;
    }
  return undefined;
}

function knownProfiles(pipelineFile: string): string[] {
  const names = profileDirs(pipelineFile).flatMap((d) => readdirSync(d).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => f.replace(/\.(ya?ml|json)$/, '')));
  return [...new Set(names)].sort();
}

const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function stagesList(doc: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(doc.stages) ? (doc.stages as unknown[]).filter(isPlainObject) as Record<string, unknown>[] : [];
}

function applyProfile(c: Composed, name: string, at: Location, stageTypes: string[], out: Diagnostic[], sources?: SourceCache): void {
  const file = PROFILE_NAME_RE.test(name) ? findProfile(c.root.absPath, name) : undefined;
  if (!file) {
    const known = knownProfiles(c.root.absPath);
    const where = `Profiles are files profiles/<name>.yaml beside or above the pipeline's folder.`;
    out.push(diag('REF_PROFILE_NOT_FOUND', at, `profile '${name}' not found`, known.length ? `${suggestionHint(name, known, 'profiles')} ${where}` : where));
    return;
  }
  // Links resolved: a profile is a file of the folder whose profiles/ holds it (the repository or, outside git, a
  // folder above the pipeline), never one a link leads to from there.
  const holder = dirname(dirname(file));
  if (!rootHolding(file, [holder])) {
    out.push(diag('REF_PROFILE_OUTSIDE_REPO', at, `profile '${name}': ${displayPath(file)} leads outside ${displayPath(holder)}, the folder whose profiles/ holds it; it is not read`, 'Profiles are files of the repository: copy it in, or remove the link.'));
    return;
  }
  const loaded = load(file, sources);
  out.push(...loaded.diagnostics);
  const src = loaded.source;
  if (!src) return;
  c.files.push(src.file);
  c.profile = { name, file: src.file };
  if (!isPlainObject(src.value)) {
    out.push(diag('SCHEMA_NOT_A_MAPPING', locate(src, []), `profile ${src.file} must be a mapping of stage type to params`));
    return;
  }
  // Either { stages: { <type>: params } } or { <type>: params } at the top; `description` is allowed beside.
  const wrapped = isPlainObject(src.value.stages);
  const byType = (wrapped ? src.value.stages : src.value) as Record<string, unknown>;
  const base = wrapped ? ['stages'] : [];
  if (wrapped)
    for (const k of Object.keys(src.value).filter((k) => k !== 'stages' && k !== 'description'))
      out.push(diag('SCHEMA_UNKNOWN_KEY', locate(src, [k], 'key'), `profile '${name}': unknown key '${k}' beside \`stages\``, 'A profile is either `stages: {<type>: params}` or `<type>: params` at the top, not both.'));
  if (src.value.description !== undefined && typeof src.value.description !== 'string')
    out.push(diag('SCHEMA_WRONG_TYPE', locate(src, ['description']), `profile '${name}': description must be a string`));
  for (const [type, params] of Object.entries(byType)) {
    if (!wrapped && type === 'description') continue;
    if (!stageTypes.includes(type) || FORBIDDEN_KEYS.has(type)) {
      out.push(diag('REF_PROFILE_UNKNOWN_STAGE', locate(src, [...base, type], 'key'), `profile '${name}' sets params of an unknown stage type '${type}'`, suggestionHint(type, stageTypes, 'stage types')));
      continue;
    }
    if (!isPlainObject(params)) {
      out.push(diag('SCHEMA_WRONG_TYPE', locate(src, [...base, type]), `profile '${name}': params of '${type}' must be a mapping`));
      continue;
    }
    stagesList(c.value).forEach((stage, i) => {
      if (stage.type !== type) return;
      const layer: OriginMap = new Map();
      recordOrigins(layer, params, ['stages', i, 'params'], fromSource(src, [...base, type]));
      const ptr = pointer(['stages', i, 'params']);
      stage.params = deepMerge(isPlainObject(stage.params) ? stage.params : {}, params, ptr, c.origins, layer);
      if (!c.origins.has(ptr)) c.origins.set(ptr, { src, path: [...base, type] });
    });
  }
}

/** Parses a --set value: JSON when it parses (numbers, booleans, null, lists, objects, "quoted"), else the raw string. */
export function parseSetValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Keys that would reach Object.prototype instead of the params. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function applySet(c: Composed, set: SetExpr, out: Diagnostic[], pluginRefParams: (stageType: string) => string[] = () => []): void {
  const expr = typeof set === 'string' ? set : set.expr;
  const at = typeof set === 'string' ? CLI_LOCATION(`--set ${expr}`) : set.at;
  const eq = expr.indexOf('=');
  if (eq <= 0) {
    out.push(diag('REF_SET_INVALID', at, `--set expects <path>=<value>, got '${expr}'`, 'e.g. --set stages.backtest.train_window=60'));
    return;
  }
  const path = expr.slice(0, eq).trim().split('.');
  const value = parseSetValue(expr.slice(eq + 1));
  const stages = stagesList(c.value);
  const types = [...new Set(stages.map((s) => String(s.type)))];
  // `__proto__` and `constructor` are keys like any other below a stage's params (a symbol may be called so): they
  // are set as own properties, never through the prototype. A stage type cannot be one.
  if (path[0] !== 'stages' || path.length < 3 || path.some((p) => p === '') || FORBIDDEN_KEYS.has(path[1])) {
    out.push(diag('REF_SET_UNKNOWN_PATH', at, `--set path '${path.join('.')}' is not of the form stages.<type>.<param>`, `Stage types in this pipeline: ${types.join(', ')}.`));
    return;
  }
  const [, type, ...rest] = path;
  const targets = stages.map((s, i) => [s, i] as const).filter(([s]) => s.type === type);
  if (!targets.length) {
    out.push(diag('REF_SET_UNKNOWN_PATH', at, `--set names stage type '${type}', which this pipeline does not have`, suggestionHint(type, types, 'stage types in this pipeline')));
    return;
  }
  for (const [stage, i] of targets) {
    if (!isPlainObject(stage.params)) stage.params = {};
    let node = stage.params as Record<string, unknown>;
    const put = (obj: Record<string, unknown>, key: string, v: unknown) => Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
    for (let k = 0; k < rest.length - 1; k++) {
      let next = Object.hasOwn(node, rest[k]) ? node[rest[k]] : undefined;
      // A plugin written by its name is the reference {name}: `engine.params.x` and `engine.name` reach into it.
      if (k === 0 && typeof next === 'string' && (rest[1] === 'name' || rest[1] === 'params') && pluginRefParams(type).includes(rest[0])) {
        const refPtr = pointer(['stages', i, 'params', rest[0]]);
        const written = c.origins.get(refPtr);
        next = { name: next };
        put(node, rest[0], next);
        if (written) c.origins.set(`${refPtr}/name`, written);
      }
      if (next === undefined) {
        put(node, rest[k], {});
        c.origins.set(pointer(['stages', i, 'params', ...rest.slice(0, k + 1)]), { fixed: at });
      }
      else if (!isPlainObject(next)) {
        out.push(diag('REF_SET_UNKNOWN_PATH', at, `--set cannot reach '${rest.slice(0, k + 2).join('.')}': '${rest.slice(0, k + 1).join('.')}' of stage '${type}' is not a mapping`));
        return;
      }
      node = node[rest[k]] as Record<string, unknown>;
    }
    put(node, rest[rest.length - 1], value);
    const full = ['stages', i, 'params', ...rest];
    const layer: OriginMap = new Map();
    recordOrigins(layer, value, full, () => ({ fixed: at }));
    for (const [k, o] of layer) c.origins.set(k, o);
  }
}
