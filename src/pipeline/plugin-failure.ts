/**
 * An uncoded error thrown inside a pipeline's own plugin module is the plugin's, not Fractal's: it is reported as
 * PLUGIN_FAILED naming the module and the file:line:col of the plugin's frame, instead of STAGE_FAILED's "a bug,
 * please report it". The frame is found in the error's stack (the worker thread's, for a replayed decision).
 */
import { realpathSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleGraph } from '../config/module-graph.js';
import { FractalError } from '../core/errors.js';

const FRAME = /((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)\)?$/;

export function pluginFailure(err: FractalError, modules: readonly string[] | undefined, baseDir: string): FractalError {
  if (err.code !== 'STAGE_FAILED' || !modules?.length) return err;
  // Each file a module runs (itself and what it imports by path), by real path: the module named in the pipeline.
  const owner = new Map<string, string>();
  for (const spec of modules) {
    try {
      for (const f of moduleGraph(realpathSync(resolve(baseDir, spec))).files) owner.set(f, spec);
    } catch {
      /* unreadable now: it cannot be named */
    }
  }
  const stack = [(err.options.cause as Error | undefined)?.stack, err.stack].find((s) => typeof s === 'string' && s.includes('\n    at ')) ?? '';
  for (const line of stack.split('\n')) {
    if (!line.trimStart().startsWith('at ')) continue;
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const path = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
    const spec = owner.get(path);
    if (spec === undefined) continue;
    const e = new FractalError('PLUGIN_FAILED', `plugin module ${spec} threw at ${relative(baseDir, path)}:${m[2]}:${m[3]}: ${err.message}`, { cause: err.options.cause ?? err, exitCode: 1, ...(err.stage ? { stage: err.stage } : {}) });
    e.stack = stack;
    return e;
  }
  return err;
}
