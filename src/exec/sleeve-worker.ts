/** Worker thread of the sleeve pool: validates one sleeve's file and runs it as a child run. */
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { builtinRegistry } from '../../stages/index.js';
import { validateFile } from '../config/validate.js';
import { executePipeline } from '../core/runner.js';
import { childRunOf } from '../core/sleeve-result.js';
import type { SleeveTask } from './sleeve-pool.js';

const t = workerData as SleeveTask;
try {
  const v = await validateFile(t.file, { registry: builtinRegistry(), profile: t.profile, sets: t.sets, dataRoots: t.dataRoots });
  if (!v.ok) throw new Error(`${t.file} is not valid: ${v.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  if (v.hash !== t.expectHash) throw new Error(`${t.file} resolves differently in the worker (config ${v.hash?.slice(0, 12)}, expected ${t.expectHash.slice(0, 12)}): it changed during the run`);
  const r = await executePipeline(v, { outRoot: t.outRoot, cacheRoot: t.cacheRoot, lakehousePath: t.lakehousePath, noCache: t.noCache, finalPrefixes: t.finalPrefixes });
  parentPort!.postMessage({ ok: true, run: childRunOf(t.name, t.kind, r.summary, r.context) });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message });
}
