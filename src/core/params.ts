/**
 * Small builders for params schemas, so every plugin file states its params the same way (types, bounds,
 * defaults, descriptions) and plugin references carry the marker the validator and schema generator read.
 *
 * Each builder's result also carries, at the type level only, the TypeScript type of the value it validates once
 * defaults are applied (`Schema<T>`), and `params({...})` combines them: `Static<typeof PARAMS>` is a plugin's params
 * type, derived from the very schema `validate`, the editor schemas and the reference docs read. A param with a
 * default (or listed in `required`) is always present after validation; one without is optional. The objects
 * themselves are the plain JSON Schemas they always were: nothing is added at run time.
 */
import { an } from '../util/words.js';
import type { JsonSchema, PluginKind, PluginRef } from './plugin.js';

declare const STATIC: unique symbol;

/** A JSON Schema whose validated value (defaults applied) has type `T`. The type travels in a property that never exists. */
export type Schema<T> = JsonSchema & { readonly [STATIC]?: { type: T } };

/** The type of the value a `Schema` validates, `undefined` included where it may be absent. */
type Validated<S> = S extends { readonly [STATIC]?: { type: infer T } } ? T : unknown;

/**
 * The type of the value a `Schema` validates: `Static<typeof PARAMS>` is a plugin's params type (a plugin always gets
 * its params object, so never undefined).
 */
export type Static<S> = Exclude<Validated<S>, undefined>;

/** Optional (`T | undefined`) when no default is given. */
type Defaulted<D, T> = undefined extends D ? T | undefined : T;

/** The keys of `P` that may be absent after validation: no default, not required. */
type OptionalKeys<P, R> = { [K in keyof P]: K extends R ? never : undefined extends Validated<P[K]> ? K : never }[keyof P];

type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The object `params(P, { required: R[] })` validates: each property's static type, optional where it may be absent. */
export type ObjectOf<P, R = never> = Flat<
  { [K in Exclude<keyof P, OptionalKeys<P, R>>]: Exclude<Validated<P[K]>, undefined> } & { [K in OptionalKeys<P, R>]?: Validated<P[K]> }
>;

/**
 * A schema the builders do not cover (an `anyOf`, a fixed-length tuple, an object of fixed fields), with the type of
 * the value it validates stated beside it. Keep these few: the builders derive the type, this states it.
 */
export const typed = <T>(schema: JsonSchema): Schema<T> => schema;

/** Marks a param that names a plugin of a kind: a name, or `{name, params}`; validated against that plugin. */
export const PLUGIN_REF_KEYWORD = 'x-fractal-plugin';
/** Marks a param that is a path (relative to the pipeline file) that must exist: 'file' | 'dir' | 'any'. */
export const PATH_KEYWORD = 'x-fractal-path';

type Extra = Record<string, unknown>;

/**
 * An object of params: a plugin's params, or an object param inside them. Inside them it is absent unless given or
 * it has a `default` (usually `{}`, so its own defaults fill in): its type says so.
 */
export const params = <P extends Record<string, Schema<unknown>>, R extends keyof P & string = never, E extends Extra = Record<never, never>>(
  properties: P,
  extra?: E & { required?: readonly R[] },
): Schema<E extends { default: object } ? ObjectOf<P, R> : ObjectOf<P, R> | undefined> => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...extra,
});

export const num = <D extends number | undefined = undefined>(description: string, dflt?: D, bounds: { min?: number; max?: number; exclusiveMin?: number } = {}): Schema<Defaulted<D, number>> => ({
  type: 'number',
  description,
  ...(bounds.min !== undefined ? { minimum: bounds.min } : {}),
  ...(bounds.exclusiveMin !== undefined ? { exclusiveMinimum: bounds.exclusiveMin } : {}),
  ...(bounds.max !== undefined ? { maximum: bounds.max } : {}),
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const int = <D extends number | undefined = undefined>(description: string, dflt?: D, bounds: { min?: number; max?: number } = {}): Schema<Defaulted<D, number>> => ({
  type: 'integer',
  description,
  ...(bounds.min !== undefined ? { minimum: bounds.min } : {}),
  ...(bounds.max !== undefined ? { maximum: bounds.max } : {}),
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const fraction = <D extends number | undefined = undefined>(description: string, dflt?: D): Schema<Defaulted<D, number>> => num(description, dflt, { min: 0, max: 1 });

export const bool = <D extends boolean | undefined = undefined>(description: string, dflt?: D): Schema<Defaulted<D, boolean>> => ({ type: 'boolean', description, ...(dflt !== undefined ? { default: dflt } : {}) });

export const str = <D extends string | undefined = undefined>(description: string, dflt?: D, extra: Extra = {}): Schema<Defaulted<D, string>> => ({ type: 'string', description, ...(dflt !== undefined ? { default: dflt } : {}), ...extra });

export const oneOfStr = <T extends string, D extends T | undefined = undefined>(values: readonly T[], description: string, dflt?: D): Schema<Defaulted<D, T>> => ({
  type: 'string',
  enum: [...values],
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const strList = <D extends string[] | undefined = undefined>(description: string, dflt?: D, extra: Extra = {}): Schema<Defaulted<D, string[]>> => ({
  type: 'array',
  items: { type: 'string', ...extra },
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/** ISO date YYYY-MM-DD. */
export const date = (description: string): Schema<string | undefined> => ({ type: 'string', format: 'date', description });

/** A path relative to the pipeline file that must exist. */
export const path = (description: string, must: 'file' | 'dir' | 'any' = 'any'): Schema<string | undefined> => ({ type: 'string', minLength: 1, description, [PATH_KEYWORD]: must });

/** A reference to a plugin of `kind`: a name or `{name, params}`; the validator makes it `{name, params}`. */
export const pluginRef = <D extends string | undefined = undefined>(kind: PluginKind, description: string, dflt?: D): Schema<Defaulted<D, PluginRef>> => ({
  [PLUGIN_REF_KEYWORD]: kind,
  description: `${description} ${an(kind).replace(/^a/, 'A')} name, or {name, params}.`,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const pluginRefList = <D extends string[] | undefined = undefined>(kind: PluginKind, description: string, dflt?: D): Schema<Defaulted<D, PluginRef[]>> => ({
  type: 'array',
  items: { [PLUGIN_REF_KEYWORD]: kind },
  description: `${description} Each ${an(kind)} name, or {name, params}.`,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/** A numeric map keyed by free names (factor weights, per-symbol budgets). */
export const numberMap = <D extends Record<string, number> | undefined = undefined>(description: string, dflt?: D): Schema<Defaulted<D, Record<string, number>>> => ({
  type: 'object',
  additionalProperties: { type: 'number' },
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/**
 * Whether a value read from params this code has no type for (another stage's, a resolved config's) is a plugin
 * reference as validation writes it: `{ name, params }`.
 */
export function isPluginRef(v: unknown): v is PluginRef {
  return typeof v === 'object' && v !== null && 'name' in v && typeof v.name === 'string' && 'params' in v && typeof v.params === 'object' && v.params !== null;
}

/** The plugin a reference read from another stage's params names, if it is one. */
export function refName(v: unknown): string | undefined {
  return isPluginRef(v) ? v.name : undefined;
}

/** Whether a value read from a schema (its `items`, `additionalProperties`, a property) is itself a schema object. */
export function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a value is a map of schemas (an object schema's `properties`). */
function isSchemaMap(v: unknown): v is Record<string, JsonSchema> {
  return isSchema(v) && Object.values(v).every(isSchema);
}

/** The `properties` of an object schema, each a schema; {} when it has none. */
export function propertiesOf(schema: JsonSchema | undefined): Record<string, JsonSchema> {
  const p = schema?.properties;
  return isSchemaMap(p) ? p : {};
}

/** A schema read from a schema (its `items`, `additionalProperties`), when it is one. */
export const subSchema = (v: unknown): JsonSchema | undefined => (isSchema(v) ? v : undefined);
