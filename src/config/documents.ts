/**
 * Document kinds and their structural schemas. `pipeline:` picks the kind; each kind has its own schema. Stage
 * params are checked in the plugin layer against each stage's own schema, so here they are only "a mapping".
 */
import type { DocumentKind, JsonSchema } from '../core/plugin.js';

export const DOCUMENT_KINDS: DocumentKind[] = ['selection', 'meta', 'tournament'];

/** The format version this engine reads (major must match; minor at most this). */
export const FORMAT_VERSION = { major: 4, minor: 0 } as const;
export const FORMAT_VERSION_TEXT = `${FORMAT_VERSION.major}.${FORMAT_VERSION.minor}`;

export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const stageItem: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', description: 'The stage plugin to run.' },
    params: { type: 'object', description: "The stage's params (see its schema)." },
    description: { type: 'string' },
  },
};

const common: Record<string, JsonSchema> = {
  $schema: { type: 'string', description: 'Editor hint; ignored by the engine.' },
  version: { type: ['string', 'number'], description: `Format version; this engine reads ${FORMAT_VERSION_TEXT}.` },
  name: { type: 'string', pattern: NAME_PATTERN, description: 'Run folder name: letters, digits, _ . and -, no spaces; defaults to the file name.' },
  description: { type: 'string' },
  profile: { type: 'string', pattern: NAME_PATTERN, description: 'Default profile (profiles/<name>.yaml: letters, digits, _ . and -); --profile overrides.' },
  plugins: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Extra plugin modules (.js/.mjs) inside this repository.' },
  lakehouse: { type: 'string', description: 'Lakehouse folder, relative to this file; --lakehouse and FRACTAL_LAKEHOUSE override.' },
};

/** Structural schema of each document kind, or undefined while the kind is not available yet. */
export const DOCUMENT_SCHEMAS: Record<DocumentKind, JsonSchema | undefined> = {
  selection: {
    type: 'object',
    additionalProperties: false,
    required: ['pipeline', 'version', 'stages'],
    properties: {
      pipeline: { const: 'selection' },
      ...common,
      stages: { type: 'array', minItems: 1, items: stageItem, description: 'Stages, run in order.' },
    },
  },
  // A meta pipeline allocates across sleeves (pipelines or metas) and flattens to physical weights.
  meta: {
    type: 'object',
    additionalProperties: false,
    required: ['pipeline', 'version', 'sleeves', 'stages'],
    properties: {
      pipeline: { const: 'meta' },
      ...common,
      sleeves: {
        type: 'array',
        minItems: 1,
        description: 'The sleeves: each a selection pipeline (with a backtest) or another meta pipeline.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: NAME_PATTERN, description: 'Sleeve name (unique in this file).' },
            pipeline: { type: 'string', description: 'A selection pipeline file, relative to this file.' },
            meta: { type: 'string', description: 'A meta pipeline file, relative to this file.' },
            profile: { type: 'string', pattern: NAME_PATTERN, description: "The sleeve's profile (else the meta pipeline's)." },
            set: { type: 'array', items: { type: 'string' }, description: '--set style overrides for the sleeve, e.g. stages.backtest.train_window=120.' },
          },
        },
      },
      stages: { type: 'array', minItems: 1, items: stageItem, description: 'Stages, run in order.' },
    },
  },
  tournament: undefined,
};

export type VersionCheck = { ok: true } | { ok: false; message: string; hint: string };

export function checkVersion(v: unknown): VersionCheck {
  const text = typeof v === 'number' ? (Number.isInteger(v) ? `${v}.0` : String(v)) : String(v);
  const m = /^(\d+)(?:\.(\d+))?(?:\.\d+)?$/.exec(text.trim());
  const hint = `This engine reads format version ${FORMAT_VERSION_TEXT}; write version: "${FORMAT_VERSION_TEXT}".`;
  if (!m) return { ok: false, message: `version ${JSON.stringify(v)} is not a version number`, hint };
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (major !== FORMAT_VERSION.major) return { ok: false, message: `format version ${text} is not supported (major ${major}, this engine reads ${FORMAT_VERSION.major}.x)`, hint };
  if (minor > FORMAT_VERSION.minor) return { ok: false, message: `format version ${text} is newer than this engine (${FORMAT_VERSION_TEXT})`, hint: 'Upgrade Fractal, or lower the version if the file uses nothing newer.' };
  return { ok: true };
}
