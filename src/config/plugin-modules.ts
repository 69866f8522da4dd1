/**
 * A pipeline's own plugin modules (`plugins: [./my_ranker.js]`). They load only from inside the repository that
 * holds the pipeline file (the nearest folder with .git, else the pipeline's own folder): never an absolute path
 * elsewhere, never a `..` or symlink escape. A module exports plugin classes (default export: a class or a list;
 * or named exports); each registers under its own `meta.kind`, one container module per kind, like the built-ins.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FractalError } from '../core/errors.js';
import { PLUGIN_KINDS, type JsonSchema, type PluginClass, type PluginKind } from '../core/plugin.js';
import { compile } from './ajv.js';
import { pluginModule, type PluginRegistry } from '../core/registry.js';
import { repoRootOf } from './compose.js';
import { diag, type Diagnostic, type Location } from './diagnostics.js';
import { moduleGraph } from './module-graph.js';
import { messageOf } from '../util/thrown.js';

export function pluginRoot(pipelineFile: string): string {
  return repoRootOf(pipelineFile) ?? dirname(resolve(pipelineFile));
}

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** Resolves and checks a plugin module path; returns the real path or a diagnostic. */
export function checkPluginPath(spec: string, declaringFile: string, rootFile: string, at: Location): { path?: string; diagnostic?: Diagnostic } {
  const root = realpathSync(pluginRoot(rootFile));
  if (isAbsolute(spec) && !inside(root, resolve(spec)))
    return { diagnostic: diag('REF_PLUGIN_MODULE_OUTSIDE_REPO', at, `plugin module '${spec}' is an absolute path outside the pipeline's repository (${root})`, 'Plugin modules load only from files inside the repository; use a relative path.') };
  if (!/^\.\.?\//.test(spec) && !isAbsolute(spec))
    return { diagnostic: diag('REF_PLUGIN_MODULE_NOT_FOUND', at, `plugin module '${spec}' must be a relative path such as ./${spec}`, 'Packages are not loaded by name; point at a file inside the repository.') };
  const target = resolve(dirname(declaringFile), spec);
  if (!inside(root, target))
    return { diagnostic: diag('REF_PLUGIN_MODULE_OUTSIDE_REPO', at, `plugin module '${spec}' escapes the pipeline's repository (${root})`, 'Plugin modules load only from files inside the repository.') };
  if (!existsSync(target)) return { diagnostic: diag('REF_PLUGIN_MODULE_NOT_FOUND', at, `plugin module '${spec}' not found (looked for ${relative(process.cwd(), target) || target})`) };
  const real = realpathSync(target);
  if (!inside(root, real))
    return { diagnostic: diag('REF_PLUGIN_MODULE_OUTSIDE_REPO', at, `plugin module '${spec}' is a link to a file outside the pipeline's repository (${real})`, 'Copy the module into the repository instead of linking to it.') };
  if (!['.js', '.mjs'].includes(extname(real)))
    return { diagnostic: diag('REF_PLUGIN_MODULE_INVALID', at, `plugin module '${spec}' must be a .js or .mjs file (Node 20 does not load .ts)`, 'Compile it to JavaScript first.') };
  // What it imports by path is held to the same rule (a one-line module re-exporting a file from elsewhere).
  const away = moduleGraph(real).files.find((f) => !inside(root, f));
  if (away)
    return { diagnostic: diag('REF_PLUGIN_MODULE_OUTSIDE_REPO', at, `plugin module '${spec}' imports ${away}, outside the pipeline's repository (${root})`, 'Plugin modules and the files they import load only from inside the repository; copy it in.') };
  return { path: real };
}

function isPluginClass(v: unknown): v is PluginClass {
  return typeof v === 'function' && typeof (v as { meta?: unknown }).meta === 'object' && (v as { meta?: unknown }).meta !== null;
}

/**
 * Where in the module's own files a load failed, as ` at file:line[:col]` (a throw at import: its first frame there),
 * or '' when the stack names none of them (Node 20's loader gives a syntax error in a module no place).
 */
async function whereInModule(err: unknown, realPath: string): Promise<string> {
  const files = moduleGraph(realPath).files;
  const at = (file: string, line: number | string, column?: number | string) => ` at ${relative(dirname(realPath), file)}:${line}${column !== undefined ? `:${column}` : ''}`;
  // A syntax error in a module's source: Node's loader names no place for it (or, under another loader, only a
  // line), so the JavaScript files are parsed again, by acorn (the parser arquero already brings), to find it.
  // Only on this failure path; a SyntaxError thrown while the module runs (JSON.parse) parses clean and keeps its frame.
  const parsedAt = async (file: string): Promise<string | undefined> => {
    if (!(err instanceof SyntaxError) || !/\.(m?js|cjs)$/.test(file)) return undefined;
    const { parse } = await import('acorn');
    try {
      parse(readFileSync(file, 'utf8'), { ecmaVersion: 'latest', sourceType: file.endsWith('.cjs') ? 'script' : 'module', allowHashBang: true });
      return undefined;
    } catch (e) {
      const loc = (e as { loc?: { line: number; column: number } }).loc;
      return loc ? at(file, loc.line, loc.column + 1) : undefined;
    }
  };
  const stack = (err as Error | undefined)?.stack ?? '';
  for (const m of stack.matchAll(/(?:file:\/\/)?(\/[^\s():]+):(\d+)(?::(\d+))?/g)) {
    const path = decodeURI(m[1]!);
    if (files.includes(path)) return (await parsedAt(path)) ?? at(path, m[2]!, m[3]);
  }
  for (const file of files) {
    const found = await parsedAt(file);
    if (found) return found;
  }
  return '';
}

/**
 * What is wrong with a class's params schema on its own, or undefined: a schema ajv cannot compile (`type: 'nmber'`),
 * or a `default` its own property refuses. Found when the module loads, not blamed on a pipeline that leaves the
 * param out (the default is filled in there and then refused at the pipeline's line).
 */
function paramsProblem(C: PluginClass): string | undefined {
  const schema = C.meta.params as JsonSchema | undefined;
  if (!schema || typeof schema !== 'object') return undefined; // the registry's own checks say so
  try {
    compile(schema);
  } catch (err) {
    return `has a params schema that does not compile: ${messageOf(err).split('\n')[0]}`;
  }
  const props = (schema as { properties?: Record<string, JsonSchema & { default?: unknown }> }).properties ?? {};
  for (const [name, prop] of Object.entries(props)) {
    if (!prop || typeof prop !== 'object' || !('default' in prop)) continue;
    // The property alone, under an object (ajv's strict mode refuses a `default` at a schema's root).
    let check;
    try {
      check = compile({ type: 'object', properties: { [name]: prop } } as JsonSchema);
    } catch {
      continue; // a property that only compiles inside its schema ($ref): the whole schema compiled above
    }
    if (!check({ [name]: structuredClone(prop.default) })) return `param '${name}' has the default ${JSON.stringify(prop.default)}, which its own schema refuses (${check.errors?.[0]?.message ?? 'invalid'})`;
  }
  return undefined;
}

/** Imports a checked module and adds its classes to `registry`, one container module per kind. */
export async function loadPluginModule(realPath: string, spec: string, registry: PluginRegistry, at: Location): Promise<Diagnostic[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(realPath).href)) as Record<string, unknown>;
  } catch (err) {
    return [diag('REF_PLUGIN_MODULE_INVALID', at, `plugin module '${spec}' failed to load${await whereInModule(err, realPath)}: ${messageOf(err).split('\n')[0]}`)];
  }
  const exported = [mod.default, ...Object.entries(mod).filter(([k]) => k !== 'default').map(([, v]) => v)].flatMap((v) => (Array.isArray(v) ? v : [v]));
  const classes = [...new Set(exported.filter(isPluginClass))];
  if (!classes.length)
    return [diag('REF_PLUGIN_MODULE_INVALID', at, `plugin module '${spec}' exports no plugin class (a class with a static 'meta')`, 'Export the class, e.g. `export default class MyRanker { static meta = { kind: "ranker", name: "my_ranker", ... } }`.')];
  const out: Diagnostic[] = [];
  const byKind = new Map<PluginKind, PluginClass[]>();
  for (const C of classes) {
    const kind = C.meta.kind;
    if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) {
      out.push(diag('REF_PLUGIN_MODULE_INVALID', at, `plugin module '${spec}': class ${C.name} has unknown kind '${String(kind)}'`, `Kinds: ${PLUGIN_KINDS.join(', ')}.`));
      continue;
    }
    const problem = paramsProblem(C);
    if (problem) {
      out.push(diag('REF_PLUGIN_MODULE_INVALID', at, `plugin module '${spec}': class ${C.name} ${problem}`, 'Fix the params schema in the module: a pipeline that leaves the param out would get that default.'));
      continue;
    }
    byKind.set(kind, [...(byKind.get(kind) ?? []), C]);
  }
  for (const [kind, list] of byKind) {
    try {
      registry.addModule(pluginModule(kind, list, `plugin module ${spec}`));
    } catch (err) {
      if (err instanceof FractalError) out.push(diag('REF_PLUGIN_MODULE_INVALID', at, err.message, err.hint));
      else throw err;
    }
  }
  return out;
}
