/**
 * Document kinds and their structural schemas. `pipeline:` picks the kind; each kind has its own schema. Stage
 * params are checked in the plugin layer against each stage's own schema, so here they are only "a mapping".
 */
import type { JsonSchema } from '../core/plugin.js';
import type { DocumentKind } from '../core/resolved-config.js';

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

/**
 * A tournament has no `stages:`: it always runs tournament_cells (its `cells.workers`), tournament_compare (its
 * `statistics`) and report. The keys below are those stages' params, validated (and completed in the editor) as such.
 */
export const TOURNAMENT_STAGES = ['tournament_cells', 'tournament_compare', 'report'] as const;
export const TOURNAMENT_STAGE_PARAMS = { statistics: 'tournament_compare' } as const;

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
  // A tournament runs its base pipeline once per cell of a matrix and compares the cells out of sample.
  tournament: {
    type: 'object',
    additionalProperties: false,
    required: ['pipeline', 'version', 'base', 'matrix'],
    properties: {
      pipeline: { const: 'tournament' },
      $schema: common.$schema,
      version: common.version,
      name: common.name,
      description: common.description,
      profile: { ...common.profile, description: "The base's profile (profiles/<name>.yaml); --profile overrides." },
      lakehouse: common.lakehouse,
      base: { type: 'string', minLength: 1, description: 'The base pipeline (a selection pipeline with a backtest, or a meta pipeline), relative to this file.' },
      champion: { type: 'string', pattern: NAME_PATTERN, description: 'The cell the others are compared with (a cell id); the base as written when omitted.' },
      matrix: {
        type: 'object',
        description: "Dotted paths into the base's params (stages.<type>.<param>[.<key>…]) → lists of values; their cartesian product, with `exclude` and `include` as in a GitHub Actions matrix.",
        properties: {
          include: { type: 'array', items: { type: 'object', minProperties: 1 }, description: 'Combinations to extend (when they change no axis value) or add: path → value.' },
          exclude: { type: 'array', items: { type: 'object', minProperties: 1 }, description: 'Combinations to leave out: every combination matching all of an entry\'s paths.' },
        },
        additionalProperties: { type: 'array', minItems: 1, description: 'The values of one axis.' },
      },
      cells: {
        type: 'object',
        additionalProperties: false,
        description: 'How cells are named and run.',
        properties: {
          id: { type: 'string', minLength: 1, description: 'Cell id template: {<path or its last segment>} placeholders, e.g. "{engine}_{step_size}". The values joined by _ when omitted.' },
          max: { type: 'integer', minimum: 1, default: 200, description: 'Most cells the matrix may make; a larger matrix is refused before anything runs.' },
          workers: { type: 'integer', minimum: 1, description: 'Cells run at once on worker threads; one per core when omitted, 1 runs them in turn.' },
        },
      },
      statistics: { type: 'object', description: 'The comparison: bootstrap, CSCV blocks, the Sharpe-difference test (the params of the tournament_compare stage).' },
      report: {
        type: 'object',
        additionalProperties: false,
        properties: {
          heatmap: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2, description: 'The two matrix axes of the heat map (the first two when omitted).' },
          top: { type: 'integer', minimum: 1, default: 5, description: 'Cells drawn against the champion in the equity chart.' },
        },
      },
    },
  },
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
