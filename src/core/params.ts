/**
 * Small builders for params schemas, so every plugin file states its params the same way (types, bounds,
 * defaults, descriptions) and plugin references carry the marker the validator and schema generator read.
 */
import { an } from '../util/words.js';
import type { JsonSchema, PluginKind } from './plugin.js';

/** Marks a param that names a plugin of a kind: a name, or `{name, params}`; validated against that plugin. */
export const PLUGIN_REF_KEYWORD = 'x-fractal-plugin';
/** Marks a param that is a path (relative to the pipeline file) that must exist: 'file' | 'dir' | 'any'. */
export const PATH_KEYWORD = 'x-fractal-path';

type Extra = Record<string, unknown>;

export const params = (properties: Record<string, JsonSchema>, extra: Extra = {}): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...extra,
});

export const num = (description: string, dflt?: number, bounds: { min?: number; max?: number; exclusiveMin?: number } = {}): JsonSchema => ({
  type: 'number',
  description,
  ...(bounds.min !== undefined ? { minimum: bounds.min } : {}),
  ...(bounds.exclusiveMin !== undefined ? { exclusiveMinimum: bounds.exclusiveMin } : {}),
  ...(bounds.max !== undefined ? { maximum: bounds.max } : {}),
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const int = (description: string, dflt?: number, bounds: { min?: number; max?: number } = {}): JsonSchema => ({
  type: 'integer',
  description,
  ...(bounds.min !== undefined ? { minimum: bounds.min } : {}),
  ...(bounds.max !== undefined ? { maximum: bounds.max } : {}),
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const fraction = (description: string, dflt?: number): JsonSchema => num(description, dflt, { min: 0, max: 1 });

export const bool = (description: string, dflt?: boolean): JsonSchema => ({ type: 'boolean', description, ...(dflt !== undefined ? { default: dflt } : {}) });

export const str = (description: string, dflt?: string, extra: Extra = {}): JsonSchema => ({ type: 'string', description, ...(dflt !== undefined ? { default: dflt } : {}), ...extra });

export const oneOfStr = <T extends string>(values: readonly T[], description: string, dflt?: T): JsonSchema => ({
  type: 'string',
  enum: [...values],
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const strList = (description: string, dflt?: string[], extra: Extra = {}): JsonSchema => ({
  type: 'array',
  items: { type: 'string', ...extra },
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/** ISO date YYYY-MM-DD. */
export const date = (description: string): JsonSchema => ({ type: 'string', format: 'date', description });

/** A path relative to the pipeline file that must exist. */
export const path = (description: string, must: 'file' | 'dir' | 'any' = 'any'): JsonSchema => ({ type: 'string', minLength: 1, description, [PATH_KEYWORD]: must });

/** A reference to a plugin of `kind`: a name or `{name, params}`. */
export const pluginRef = (kind: PluginKind, description: string, dflt?: string): JsonSchema => ({
  [PLUGIN_REF_KEYWORD]: kind,
  description: `${description} ${an(kind).replace(/^a/, 'A')} name, or {name, params}.`,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const pluginRefList = (kind: PluginKind, description: string, dflt?: string[]): JsonSchema => ({
  type: 'array',
  items: { [PLUGIN_REF_KEYWORD]: kind },
  description: `${description} Each ${an(kind)} name, or {name, params}.`,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/** A numeric map keyed by free names (factor weights, per-symbol budgets). */
export const numberMap = (description: string, dflt?: Record<string, number>): JsonSchema => ({
  type: 'object',
  additionalProperties: { type: 'number' },
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});
