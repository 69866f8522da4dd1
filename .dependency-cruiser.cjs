/**
 * The layering (docs/architecture.md#layers), checked by dependency-cruiser 17.4.3 from tools/lint (the last release
 * that runs on Node 20; it reads TypeScript through tools/lint's own typescript 6, since TS 7 has no JS API).
 * Run: `npm run arch` (scripts/check-architecture.mjs reads the JSON summary: the exit code alone wraps at 256).
 */
// Lowest first. A module may import its own layer or a lower one, never a higher one.
const LAYERS = [
  { name: 'util', path: '^src/util/' },
  { name: 'core', path: '^src/core/' },
  { name: 'config', path: '^src/config/' },
  { name: 'data', path: '^src/(lakehouse|math|runs|portfolio|report)/' },
  { name: 'pipeline', path: '^src/pipeline/' },
  { name: 'stages', path: '^stages/' },
  { name: 'exec', path: '^src/exec/' },
  { name: 'api', path: '^src/api/' },
  { name: 'cli', path: '^(src/(cli|bench)|bin|bench)/' },
];

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} must not import a higher layer (${LAYERS.slice(i + 1).map((l) => l.name).join(', ')})`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => l.path) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'folders import one way (a folder and its own subfolders, e.g. src/lakehouse and src/lakehouse/sources, are one)',
      severity: 'error',
      scope: 'folder',
      from: { path: '^((src|stages)/[^/]+)' },
      to: { circular: true, pathNot: '^$1(/|$)' },
    },
    {
      name: 'no-module-cycles',
      comment: 'no import cycle between modules that loads code (a cycle closed by a type-only import loads nothing: allowed)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'type-import'] } },
    },
    {
      name: 'no-cross-stage-imports',
      comment: 'a stage (and its plugins) never imports another stage: what two stages share moves down (src/portfolio, src/util, ...); stages/index.ts is the one place that imports them all',
      severity: 'error',
      from: { path: '^stages/([^/]+)/' },
      to: { path: '^stages/', pathNot: '^stages/$1/' },
    },
    ...layerRules,
    { name: 'not-to-unresolvable', comment: 'every import resolves', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    // Exact edges, type-only imports included (TS 7 has no JS API; tools/lint has typescript 6).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^dist/', 'node_modules/'] },
    // Packages with only an "exports" map (inversify, ml-hclust, vega-lite, ccxt) resolve through it.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      archi: { collapsePattern: '^(src|stages)/[^/]+' },
      ddot: { collapsePattern: '^(src|stages)/[^/]+' },
    },
  },
};
