/**
 * Worker thread of the replay pool: rebuilds the pipeline from the parent's resolved config as soon as it starts (its
 * own plugin modules loaded by the same rules), then waits for its job: replays the decision stages for the dates the
 * pool's claims hand it (its own block, then dates taken over from others'), posts each plain outcome as it is made,
 * and at the end the identities of the data it read (for the run's data hash).
 */
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { builtinRegistry } from '../../stages/index.js';
import { checkPluginPath, loadPluginModule } from '../config/plugin-modules.js';
import { createContainer } from '../pipeline/container.js';
import { serialiseError } from '../core/errors.js';
import { PipelineFactory, type BuiltPipeline } from '../pipeline/factory.js';
import { adoptSharedSeries } from '../lakehouse/shared-series.js';
import { withLakehousePins } from '../lakehouse/pins.js';
import { quietEnv, replayOutcome, replayServices } from '../pipeline/replay.js';
import type { DataSource, StageEnv } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import type { ReplayJob, ReplaySetup } from '../pipeline/executor.js';
import { collectedSpans, startTracing, withTraceContext } from '../util/tracing.js';
import { decideClaimed, ReplayClaims } from './replay-claims.js';
import type { ReplayMessage } from './replay-pool.js';

const setup = workerData as ReplaySetup;
const port = parentPort!;

/** The run's pipeline, rebuilt as soon as the worker starts (the run is still reading its data meanwhile). */
async function rebuild(): Promise<{ built: BuiltPipeline; registry: PluginRegistry }> {
  const registry = builtinRegistry();
  for (const spec of setup.config.plugins ?? []) {
    const checked = checkPluginPath(spec, setup.pipelineFile, setup.pipelineFile, { file: setup.pipelineFile, line: 1, column: 1 });
    if (checked.diagnostic) throw new Error(checked.diagnostic.message);
    const ds = await loadPluginModule(checked.path!, spec, registry, { file: setup.pipelineFile, line: 1, column: 1 });
    if (ds.length) throw new Error(ds[0].message);
  }
  return { built: new PipelineFactory(registry).build(setup.config), registry };
}
const rebuilt = rebuild();
// A failure surfaces with the job: a worker never handed one is ended without a word.
rebuilt.catch(() => {});

async function replay(job: ReplayJob): Promise<void> {
  adoptSharedSeries(job.shared);
  // The run's versions of its lakehouses (src/lakehouse/pins.ts), not registry.json as it is by now.
  await withLakehousePins(() => decide(job), job.pins ?? []);
}

async function decide(job: ReplayJob): Promise<void> {
  // A traced run hands its context with the job: this batch is a span of its trace, handed back when done.
  if (job.trace?.traceparent) await startTracing({ collect: true });
  try {
    const { built, registry } = await rebuilt;
    const releases: (() => unknown)[] = [];
    const cache = new Map<string, unknown>();
    const sources: DataSource[] = [];
    const env = quietEnv({
      runId: job.runId,
      runDir: '',
      baseDir: setup.baseDir,
      lakehousePath: setup.lakehousePath,
      plugins: createContainer(registry).resolver,
      recordData: (s: DataSource) => sources.push(s),
      dataHash: () => sources[0]?.data_hash ?? null,
      pipeline: { name: setup.config.name, hash: setup.hash, config: setup.config, stages: [] },
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
}

port.once('message', (job: ReplayJob) => void replay(job));

function post(m: ReplayMessage): void {
  port.postMessage(m);
}
