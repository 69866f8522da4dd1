/**
 * The resolved config: what a valid pipeline file becomes (src/config/validate.ts), explicit, defaults filled, every
 * plugin reference `{name, params}`. It is what runs and what is hashed; every layer above config reads it.
 */
/** The document kinds a pipeline file can be (its `pipeline:` key). */
export type DocumentKind = 'selection' | 'meta' | 'tournament';

export interface ResolvedStage {
  type: string;
  params: Record<string, unknown>;
}

export interface ResolvedConfig {
  pipeline: DocumentKind;
  version: string;
  name: string;
  description?: string;
  /** Plugin modules, as written (relative to the file that declared them). */
  plugins?: string[];
  lakehouse?: string;
  /** Meta pipelines: the sleeves, each with its own resolved config's hash (so the meta hash covers them). */
  sleeves?: ResolvedSleeve[];
  /** Tournaments: the base, the cells (each with its overrides and config hash), the champion. */
  tournament?: ResolvedTournament;
  stages: ResolvedStage[];
}

/** A sleeve of a meta pipeline, resolved: its file (relative to the meta file), overrides and config hash. */
export interface ResolvedSleeve {
  name: string;
  kind: 'selection' | 'meta';
  file: string;
  profile?: string;
  set?: string[];
  config_hash: string;
}

export interface ResolvedCell {
  id: string;
  /** The cell's overrides of the base, path → value (the matrix axes first, in their order, then `include` keys). */
  overrides: Record<string, unknown>;
  config_hash: string;
}

export interface ResolvedTournament {
  base: { file: string; kind: 'selection' | 'meta'; config_hash: string; profile?: string; set?: string[] };
  champion: string;
  /** The axes as written, in order (each a path and its values). */
  axes: { path: string; values: unknown[] }[];
  cells: ResolvedCell[];
  cells_max: number;
  report: { heatmap: string[] | null; top: number };
}

/** A tournament document's tournament (the tournament stages run in nothing else). */
export function tournamentOf(config: ResolvedConfig): ResolvedTournament {
  if (!config.tournament) throw new Error(`pipeline '${config.name}' is not a tournament`);
  return config.tournament;
}
