/**
 * Editor schemas generated from the plugin registry: each stage's params are selected by its `type`, each plugin
 * reference by its `name`, so an editor (yaml-language-server) completes and checks params as `validate` does.
 * The files are committed under schemas/; `pipeline-run schema --check` fails when they drift.
 */
import type { JsonSchema, PluginKind } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import { PLUGIN_REF_KEYWORD } from '../core/params.js';
import { DOCUMENT_KINDS, DOCUMENT_SCHEMAS, TOURNAMENT_STAGE_PARAMS } from './documents.js';
import { isPlainObject } from './origins.js';

const DRAFT = 'http://json-schema.org/draft-07/schema#';

/** Replaces plugin-ref markers with $refs and drops engine-only keywords. */
function editorize(s: unknown, refs: Set<PluginKind>): unknown {
  if (Array.isArray(s)) return s.map((x) => editorize(x, refs));
  if (!isPlainObject(s)) return s;
  if (typeof s[PLUGIN_REF_KEYWORD] === 'string') {
    const kind = s[PLUGIN_REF_KEYWORD] as PluginKind;
    refs.add(kind);
    const { [PLUGIN_REF_KEYWORD]: _drop, ...rest } = s;
    return { ...rest, $ref: `#/$defs/ref.${kind}` };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (!k.startsWith('x-fractal-')) out[k] = editorize(v, refs);
  return out;
}

function refDef(kind: PluginKind, registry: PluginRegistry): JsonSchema {
  const names = registry.resolvableNames(kind);
  return {
    description: `A ${kind}: its name, or {name, params}.`,
    anyOf: [
      { type: 'string', enum: names },
      {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string', enum: names }, params: { type: 'object' } },
        allOf: names.map((n) => ({ if: { properties: { name: { const: n } } }, then: { properties: { params: { $ref: `#/$defs/${kind}.${registry.lookup(kind, n)!.name}` } } } })),
      },
    ],
  };
}

function stageDefs(registry: PluginRegistry, forProfile: boolean): { defs: Record<string, unknown>; refs: Set<PluginKind> } {
  const defs: Record<string, unknown> = {};
  const refs = new Set<PluginKind>();
  for (const name of registry.names('stage')) {
    const meta = registry.stage(name)!.cls.meta;
    const p = editorize(meta.params, refs) as JsonSchema;
    const props = { ...(p.properties as Record<string, unknown>) };
    for (const short of Object.keys(meta.shorthands ?? {})) props[short] = { description: `Shorthand: moved into the params of ${meta.shorthands![short].join(' / ')}.` };
    const { required: _r, ...rest } = p;
    // Params of which at most one may be given (the engine refuses both) are refused by the editor too.
    const exclusive = forProfile ? {} : (meta.exclusive ?? []).length ? { allOf: meta.exclusive!.map((g) => ({ not: { required: g } })) } : {};
    defs[`stage.${name}`] = { ...(forProfile ? rest : p), properties: props, description: meta.description, ...exclusive };
  }
  return { defs, refs };
}

function pluginDefs(registry: PluginRegistry, refs: Set<PluginKind>, defs: Record<string, unknown>): void {
  for (const kind of [...refs].sort()) {
    defs[`ref.${kind}`] = refDef(kind, registry);
    for (const n of registry.names(kind)) {
      const meta = registry.lookup(kind, n)!.cls.meta;
      defs[`${kind}.${n}`] = { ...(editorize(meta.params, refs) as JsonSchema), description: meta.description };
    }
  }
}

export function generateSchemas(registry: PluginRegistry): Record<string, JsonSchema> {
  const stageNames = registry.resolvableNames('stage');
  const { defs, refs } = stageDefs(registry, false);
  pluginDefs(registry, refs, defs);
  defs.stage = {
    type: 'object',
    additionalProperties: false,
    required: ['type'],
    // An empty `params:` (YAML null) means no params, for the engine and the editor alike.
    properties: { type: { type: 'string', enum: stageNames, description: 'The stage plugin to run.' }, params: { type: ['object', 'null'] }, description: { type: 'string' } },
    allOf: registry.names('stage').map((n) => ({ if: { properties: { type: { const: n } }, required: ['type'] }, then: { properties: { params: { anyOf: [{ type: 'null' }, { $ref: `#/$defs/stage.${n}` }] } } } })),
  };
  const kinds: Record<string, unknown> = {};
  for (const kind of DOCUMENT_KINDS) {
    const doc = DOCUMENT_SCHEMAS[kind];
    if (!doc) continue;
    const docProps = doc.properties as Record<string, JsonSchema>;
    const props: Record<string, unknown> = { ...docProps };
    if (docProps.stages) props.stages = { ...docProps.stages, items: { $ref: '#/$defs/stage' } };
    // A tournament's `statistics` are the params of its comparison stage: the editor completes them as such.
    if (kind === 'tournament') for (const [key, stage] of Object.entries(TOURNAMENT_STAGE_PARAMS)) props[key] = { description: docProps[key]?.description, $ref: `#/$defs/stage.${stage}` };
    kinds[kind] = { ...doc, properties: props };
  }
  const pipeline: JsonSchema = {
    $schema: DRAFT,
    $id: 'pipeline.schema.json',
    title: 'Fractal pipeline',
    description: 'A Fractal pipeline document; `pipeline` picks the kind. Generated by `pipeline-run schema`; do not edit.',
    type: 'object',
    required: ['pipeline'],
    properties: { pipeline: { type: 'string', enum: DOCUMENT_KINDS } },
    allOf: Object.keys(kinds).map((k) => ({ if: { properties: { pipeline: { const: k } }, required: ['pipeline'] }, then: { $ref: `#/$defs/document.${k}` } })),
    $defs: { ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [`document.${k}`, v])), ...defs },
  };

  const p = stageDefs(registry, true);
  pluginDefs(registry, p.refs, p.defs);
  const byType = Object.fromEntries(registry.names('stage').map((n) => [n, { $ref: `#/$defs/stage.${n}` }]));
  const profile: JsonSchema = {
    $schema: DRAFT,
    $id: 'profile.schema.json',
    title: 'Fractal profile',
    description: 'An overlay of stage params keyed by stage type (at the top, or under `stages`). Generated by `pipeline-run schema`; do not edit.',
    type: 'object',
    additionalProperties: false,
    properties: { description: { type: 'string' }, stages: { type: 'object', additionalProperties: false, properties: byType }, ...byType },
    $defs: p.defs,
  };
  return { 'pipeline.schema.json': pipeline, 'profile.schema.json': profile };
}

export const schemaText = (s: JsonSchema): string => `${JSON.stringify(s, null, 2)}\n`;
