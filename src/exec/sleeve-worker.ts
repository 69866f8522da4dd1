/** Worker thread of the child-run pool: validates one sleeve's (or cell's) file and runs it as a child run. */
import 'reflect-metadata';
import { parentPort } from 'node:worker_threads';
import { builtinRegistry } from '../../stages/index.js';
import { validateFile } from '../config/validate.js';
import { executePipeline } from '../pipeline/runner.js';
import { childRunOf } from '../pipeline/sleeve-result.js';
import type { CellJob, SleeveTask } from '../pipeline/executor.js';
import { collectedSpans, startTracing, withSpan, withTraceContext } from '../util/tracing.js';
import { withLakehousePins, type PinnedRegistry } from '../lakehouse/pins.js';

const registry = builtinRegistry();

async function childRun(t: SleeveTask): Promise<ReturnType<typeof childRunOf>> {
  const v = await validateFile(t.file, { registry, profile: t.profile, sets: t.sets, dataRoots: t.dataRoots });
  if (!v.ok) throw new Error(`${t.file} is not valid: ${v.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  if (v.hash !== t.expectHash) throw new Error(`${t.file} resolves differently in the worker (config ${v.hash?.slice(0, 12)}, expected ${t.expectHash.slice(0, 12)}): it changed during the run`);
  const r = await executePipeline(v, { outRoot: t.outRoot, cacheRoot: t.cacheRoot, lakehousePath: t.lakehousePath, noCache: t.noCache, finalPrefixes: t.finalPrefixes, folderName: t.folderName, ...(t.git !== undefined ? { git: t.git } : {}) });
  return childRunOf(t.name, t.kind, r.summary, r.context);
}

/**
 * One child run: the pool sends the tasks of its lane one after the other; each gets one reply. A traced parent hands
 * its context with the task: the child run is a span of its trace (`sleeve <name>` or `cell <id>`), and the spans go
 * back with the reply.
 */
async function runTask(t: SleeveTask): Promise<void> {
  if (t.trace?.traceparent) await startTracing({ collect: true });
  const cell = (t as Partial<CellJob>).folderName !== undefined;
  try {
    const run = await withTraceContext(t.trace, () =>
      withSpan(`${cell ? 'cell' : 'sleeve'} ${t.name}`, { [cell ? 'fractal.cell' : 'fractal.sleeve']: t.name, 'fractal.config_hash': t.expectHash, 'fractal.worker': true }, () => childRun(t)),
    );
    parentPort!.postMessage({ ok: true, run, spans: collectedSpans() });
  } catch (err) {
    parentPort!.postMessage({ ok: false, message: (err as Error).message, spans: collectedSpans() });
  }
}

// A child run reads the lakehouse versions its parent run reads (src/lakehouse/pins.ts).
parentPort!.on('message', (t: SleeveTask & { pins?: PinnedRegistry[] }) => void withLakehousePins(() => runTask(t), t.pins ?? []));
