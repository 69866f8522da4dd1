/**
 * Worker thread of the replay pool: rebuilds the pipeline from the parent's resolved config (its own plugin
 * modules loaded by the same rules), replays the decision stages for the dates the pool's claims hand it (its own
 * block, then dates taken over from others'), posts each plain outcome as it is made, and at the end the identities
 * of the data it read (for the run's data hash).
 */
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { builtinRegistry } from '../../stages/index.js';
import { checkPluginPath, loadPluginModule } from '../config/plugin-modules.js';
import { createContainer } from '../pipeline/container.js';
import { serialiseError } from '../core/errors.js';
import { PipelineFactory } from '../pipeline/factory.js';
import { adoptSharedSeries } from '../lakehouse/shared-series.js';
import { quietEnv, replayOutcome, replayServices } from '../pipeline/replay.js';
import type { DataSource, StageEnv } from '../core/plugin.js';
import type { ReplayJob } from '../pipeline/executor.js';
import { collectedSpans, startTracing, withTraceContext } from '../util/tracing.js';
import { decideClaimed, ReplayClaims } from './replay-claims.js';
import type { ReplayMessage } from './replay-pool.js';

const job = workerData as ReplayJob;
const port = parentPort!;
adoptSharedSeries(job.shared);
// A traced run hands its context with the job: this batch is a span of its trace, handed back when done.
if (job.trace?.traceparent) await startTracing({ collect: true });
try {
  const registry = builtinRegistry();
  for (const spec of job.config.plugins ?? []) {
    const checked = checkPluginPath(spec, job.pipelineFile, job.pipelineFile, { file: job.pipelineFile, line: 1, column: 1 });
    if (checked.diagnostic) throw new Error(checked.diagnostic.message);
    const ds = await loadPluginModule(checked.path!, spec, registry, { file: job.pipelineFile, line: 1, column: 1 });
    if (ds.length) throw new Error(ds[0].message);
  }
  const built = new PipelineFactory(registry).build(job.config);
  const releases: (() => unknown)[] = [];
  const cache = new Map<string, unknown>();
  const sources: DataSource[] = [];
  const env = quietEnv({
    runId: job.runId,
    runDir: '',
    baseDir: job.baseDir,
    lakehousePath: job.lakehousePath,
    plugins: createContainer(registry).resolver,
    recordData: (s: DataSource) => sources.push(s),
    dataHash: () => sources[0]?.data_hash ?? null,
    pipeline: { name: job.config.name, hash: job.hash, config: job.config, stages: [] },
  } as unknown as StageEnv);
  built.scope.attach(
    replayServices({
      get: <T>(k: string) => cache.get(k) as T | undefined,
      set: <T>(k: string, v: T, release?: () => unknown) => {
        cache.set(k, v);
        if (release) releases.push(release);
        return v;
      },
    }),
  );
  const claims = new ReplayClaims(job.claims.buffer);
  await withTraceContext(job.trace, () =>
    decideClaimed(claims, job.claims.own, job.dates, { 'fractal.run_id': job.runId, 'fractal.worker': true }, async (index) => {
      const outcome = await replayOutcome(built.stages, job.upto, env, job.runId, job.dates[index]!, job.options);
      post({ kind: 'decided', index, outcome });
    }),
  );
  for (const r of releases.reverse()) await r();
  post({ kind: 'done', sources, spans: collectedSpans() });
} catch (err) {
  post({ kind: 'error', error: serialiseError(err), spans: collectedSpans() });
}

function post(m: ReplayMessage): void {
  port.postMessage(m);
}
