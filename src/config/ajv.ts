/**
 * One ajv instance for documents and plugin params, and the translation of ajv errors into located diagnostics
 * a person can act on ("unknown key 'treshold' in params of stage 'clustering'. Did you mean 'threshold'?").
 */
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { diag, suggestionHint, type Diagnostic, type DiagnosticCode } from './diagnostics.js';
import { locateIn, parsePointer, type OriginMap } from './origins.js';
import type { Path } from './source.js';
import { PATH_KEYWORD, PLUGIN_REF_KEYWORD } from '../core/params.js';
import type { JsonSchema } from '../core/plugin.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import { codeOf } from '../util/thrown.js';

/** The formats Fractal's schemas use; the precompiled validators receive this same object. */
export const FORMATS = {
  // A calendar date that exists (2024-02-30 does not), YYYY-MM-DD.
  date: (s: string): boolean => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  },
  // A JavaScript regular expression (scanner exclusions).
  regex: (s: string): boolean => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
};

/** One ajv configuration for documents and params, shared by the run-time instance and the build's precompiler. */
export function createAjv(extra: Partial<Options> = {}): Ajv {
  // ajv itself (~60 CommonJS modules) loads only here: the build's precompiled validators cover the built-in
  // schemas, so a run or a validation compiles, and loads ajv, only for a third-party plugin's schema.
  const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  const a = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true, ...extra });
  a.addKeyword({ keyword: PLUGIN_REF_KEYWORD, schemaType: 'string' });
  a.addKeyword({ keyword: PATH_KEYWORD, schemaType: 'string' });
  a.addKeyword({ keyword: 'x-fractal-unit', schemaType: 'string' });
  for (const [name, fn] of Object.entries(FORMATS)) a.addFormat(name, fn);
  return a;
}

let runtimeAjv: Ajv | undefined;

/** The key of a schema among the precompiled validators: the sha256 of its canonical JSON. */
export const schemaKey = (schema: JsonSchema): string => sha256(canonicalJson(schema));

/** The file the build writes beside this module (scripts/precompile-validators.mjs). */
export const PRECOMPILED_FILE = 'ajv-precompiled.cjs';

// Compiling the ~26 schemas a run uses costs ~110 ms of every start, as much as the rest of a cached tournament
// re-run's own work: the build compiles the built-in ones ahead of time (ajv's standalone code) and a run takes
// those by content hash. A schema the build did not see (a third-party plugin's) is compiled here as before.
type Precompiled = Record<string, ValidateFunction>;
let precompiled: Precompiled | undefined;
function precompiledValidators(): Precompiled {
  if (!precompiled) {
    precompiled = {};
    if (process.env.FRACTAL_AJV_PRECOMPILED !== '0') {
      try {
        const make = createRequire(import.meta.url)(`./${PRECOMPILED_FILE}`) as (formats: typeof FORMATS) => Precompiled;
        precompiled = make(FORMATS);
      } catch (err) {
        // Running from source (tests) or a build without the file: compile on demand.
        if (codeOf(err) !== 'MODULE_NOT_FOUND') throw err;
      }
    }
  }
  return precompiled;
}

const compiled = new WeakMap<object, ValidateFunction>();
export function compile(schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    const precompiled = precompiledValidators();
    const key = schemaKey(schema);
    fn = Object.hasOwn(precompiled, key) ? precompiled[key]! : (runtimeAjv ??= createAjv()).compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

type Prefix = 'SCHEMA' | 'PARAM';
const code = (p: Prefix, what: 'UNKNOWN_KEY' | 'MISSING' | 'WRONG_TYPE' | 'OUT_OF_RANGE' | 'BAD_VALUE' | 'INVALID'): DiagnosticCode => {
  if (p === 'SCHEMA') {
    const m = { UNKNOWN_KEY: 'SCHEMA_UNKNOWN_KEY', MISSING: 'SCHEMA_MISSING_KEY', WRONG_TYPE: 'SCHEMA_WRONG_TYPE', OUT_OF_RANGE: 'SCHEMA_BAD_VALUE', BAD_VALUE: 'SCHEMA_BAD_VALUE', INVALID: 'SCHEMA_INVALID' } as const;
    return m[what];
  }
  const m = { UNKNOWN_KEY: 'PARAM_UNKNOWN_KEY', MISSING: 'PARAM_MISSING', WRONG_TYPE: 'PARAM_WRONG_TYPE', OUT_OF_RANGE: 'PARAM_OUT_OF_RANGE', BAD_VALUE: 'PARAM_BAD_VALUE', INVALID: 'PARAM_INVALID' } as const;
  return m[what];
};

const show = (v: unknown): string => {
  // YAML's .nan and .inf, and a literal too large for a double (1e400), are numbers JSON writes as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? '.nan (not a number)' : `${v > 0 ? '' : '-'}.inf (an infinite number, or a literal too large for one: 1e400 is read as .inf)`;
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'mapping' : typeof v === 'number' && !Number.isFinite(v) ? 'non-finite number' : typeof v);
const friendlyType = (t: unknown): string => (Array.isArray(t) ? t.map(friendlyType).join(' or ') : t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t === 'integer' ? 'an integer' : `a ${String(t)}`);

/**
 * Maps ajv errors to diagnostics. `base` is where the validated value sits in the composed document; `what`
 * names it for messages ("params of stage 'clustering'").
 */
export function ajvDiagnostics(errors: ErrorObject[] | null | undefined, base: Path, origins: OriginMap, prefix: Prefix, what: string): Diagnostic[] {
  if (!errors?.length) return [];
  // Errors inside a failed anyOf/oneOf branch are noise next to the union's own error; of nested unions, the
  // innermost (the most specific place) speaks.
  const isUnion = (e: ErrorObject) => e.keyword === 'anyOf' || e.keyword === 'oneOf';
  const unions = errors.filter(isUnion);
  const innermost = unions.filter((u) => !unions.some((v) => v !== u && v.schemaPath.startsWith(`${u.schemaPath}/`)));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (isUnion(e) ? !innermost.includes(e) : unions.some((u) => e.schemaPath.startsWith(`${u.schemaPath}/`))) continue;
    const rel = parsePointer(e.instancePath);
    const path: Path = [...base, ...rel.map((t) => (/^\d+$/.test(t) ? Number(t) : t))];
    const field = rel.length ? `'${rel.join('.')}'` : 'the value';
    const where = rel.length ? ` in ${what}` : ` (${what})`;
    let d: Diagnostic;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys(((e.parentSchema as JsonSchema)?.properties as object) ?? {});
        const inner = rel.length ? ` under ${field}` : '';
        d = diag(code(prefix, 'UNKNOWN_KEY'), locateIn(origins, [...path, key], 'key'), `unknown key '${key}'${inner} in ${what}`, allowed.length ? suggestionHint(key, allowed, 'keys') : 'No keys are allowed here.');
        break;
      }
      case 'required': {
        const key = (e.params as { missingProperty: string }).missingProperty;
        d = diag(code(prefix, 'MISSING'), locateIn(origins, path), `missing required key '${key}'${rel.length ? ` under ${field}` : ''} in ${what}`);
        break;
      }
      case 'type':
        d = diag(code(prefix, 'WRONG_TYPE'), locateIn(origins, path), `${field}${where} must be ${friendlyType((e.params as { type: unknown }).type)}, got ${typeOf(e.data)} ${show(e.data)}`);
        break;
      case 'enum':
      case 'const': {
        const allowed = e.keyword === 'enum' ? ((e.params as { allowedValues: unknown[] }).allowedValues) : [(e.params as { allowedValue: unknown }).allowedValue];
        const hint = typeof e.data === 'string' ? suggestionHint(e.data, allowed.map(String), 'values') : `Allowed: ${allowed.map(show).join(', ')}.`;
        d = diag(code(prefix, 'BAD_VALUE'), locateIn(origins, path), `${field}${where} must be one of ${allowed.map(show).join(', ')}, got ${show(e.data)}`, hint);
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const p = e.params as { comparison: string; limit: number };
        d = diag(code(prefix, 'OUT_OF_RANGE'), locateIn(origins, path), `${field}${where} must be ${p.comparison} ${p.limit}, got ${show(e.data)}`, rangeHint(e.parentSchema as JsonSchema));
        break;
      }
      case 'minItems':
      case 'maxItems':
      case 'minLength':
      case 'maxLength':
      case 'minProperties':
      case 'maxProperties':
        d = diag(code(prefix, 'OUT_OF_RANGE'), locateIn(origins, path), `${field}${where} ${e.message ?? 'is out of range'}`);
        break;
      case 'pattern':
      case 'format': {
        const desc = (e.parentSchema as JsonSchema)?.description;
        d = diag(code(prefix, 'BAD_VALUE'), locateIn(origins, path), `${field}${where} ${e.message ?? 'is malformed'}, got ${show(e.data)}`, typeof desc === 'string' ? desc : undefined);
        break;
      }
      case 'not': {
        const desc = (e.parentSchema as JsonSchema)?.description;
        d = diag(code(prefix, 'BAD_VALUE'), locateIn(origins, path), `${field}${where} must not be ${describe((e.parentSchema as JsonSchema).not as JsonSchema)}, got ${show(e.data)}`, typeof desc === 'string' ? desc : undefined);
        break;
      }
      case 'anyOf':
      case 'oneOf': {
        const branches = ((e.parentSchema as JsonSchema)?.[e.keyword] as JsonSchema[] | undefined) ?? [];
        const desc = (e.parentSchema as JsonSchema)?.description;
        const expected = branches.map(describe).join(', or ');
        d = diag(code(prefix, 'INVALID'), locateIn(origins, path), `${field}${where} must be ${expected || 'of another form'}, got ${show(e.data)}`, typeof desc === 'string' ? desc : undefined);
        break;
      }
      default:
        d = diag(code(prefix, 'INVALID'), locateIn(origins, path), `${field}${where} ${e.message ?? 'is invalid'}`);
    }
    const k = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  }
  return out;
}

/** A short English description of a schema, for "must be X, or Y" messages. */
export function describe(s: JsonSchema): string {
  if (s.const !== undefined) return show(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map(show).join(', ')}`;
  const bounds = [s.minimum !== undefined ? `>= ${s.minimum}` : '', s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '', s.maximum !== undefined ? `<= ${s.maximum}` : ''].filter(Boolean).join(' and ');
  if (s.type === 'array') return `a list${s.items ? ` of ${describe(s.items as JsonSchema).replace(/^an? /, '')}s` : ''}`;
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(describe).join(' or ');
  const t = s.type ? friendlyType(s.type) : 'a value';
  return bounds ? `${t} ${bounds}` : t;
}

function rangeHint(s: JsonSchema | undefined): string | undefined {
  if (!s) return undefined;
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) return `Allowed range: ${s.minimum !== undefined ? '[' : '('}${lo}, ${hi}${s.maximum !== undefined ? ']' : ')'}.`;
  return undefined;
}
