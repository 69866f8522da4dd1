/**
 * run(file): validate, preflight (before anything is written), build from the container and run the stages into a
 * run folder; returns the run summary and the paths of its files. Never prints and never exits: the CLI
 * (src/cli/run.ts) prints what this returns.
 */
import { join, resolve } from 'node:path';
import type { ValidationResult } from '../config/validate.js';
import { FractalError, inputError } from '../core/errors.js';
import type { ReusePlan } from '../pipeline/reuse.js';
import type { PreflightFindings } from '../pipeline/runner.js';
// Static, not loaded after the run: a run that failed for want of file descriptors (EMFILE) still reports its own
// error rather than failing to open a module.
import { headlineMetrics } from '../runs/headline.js';
import type { ScannerMeta } from '../core/plugin.js';
import { noLakehouse } from '../lakehouse/where.js';
import { lakehousePath, validateWith } from './config.js';
import { errorInfo } from './errors.js';
import type { RunOptions, RunResult } from './types.js';

/** Whether the pipeline, or any sleeve of a meta or cell of a tournament, has a scanner that reads the lakehouse (its meta says). */
function readsLakehouse(v: ValidationResult): boolean {
  const scanner = v.resolved?.stages.find((s) => s.type === 'ingestion')?.params.scanner as { name?: string } | undefined;
  const meta = scanner?.name === undefined ? undefined : (v.registry.lookup('scanner', scanner.name)?.cls.meta as ScannerMeta | undefined);
  if (meta?.readsLakehouse) return true;
  return [...Object.values(v.sleeves ?? {}), ...Object.values(v.cells ?? {})].some(readsLakehouse);
}

/**
 * Runs a pipeline file. Invalid input (the file, or what the preflight finds against the lakehouse) gives
 * `outcome: 'invalid'` with every problem and writes nothing; otherwise the run's folder exists, succeeded or failed.
 * Errors no run folder can hold (a runs root that cannot be created, a full disk before anything was written) throw
 * a FractalError.
 */
export async function run(file: string, options: RunOptions = {}): Promise<RunResult> {
  const tracing = await import('../util/tracing.js');
  // Traces: asked for by `trace`, or by the environment (OTEL_TRACES_EXPORTER); the SDK loads only then.
  // OTEL_SDK_DISABLED=true turns them off whatever else says.
  const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const traced = !disabled && (options.trace === undefined ? tracing.tracingRequested() : Boolean(options.trace));
  if (!traced) {
    // Not traced, while an earlier run in this process started the SDK (or the caller said so): no span of this run
    // reaches the exporters in force. A program's own tracer provider still gets the spans of a run asked nothing.
    const quiet = disabled || options.trace === false || tracing.tracingStarted();
    return quiet ? tracing.withoutTracing(() => runFile(file, options)) : runFile(file, options);
  }
  const given = typeof options.trace === 'object' ? options.trace.exporter : undefined;
  if (given !== undefined && typeof (given as { export?: unknown } | null)?.export !== 'function')
    throw inputError('USAGE', 'run(): trace.exporter is not an OpenTelemetry SpanExporter (an object with export() and shutdown())', 'Pass an exporter of @opentelemetry/sdk-trace-base, such as InMemorySpanExporter, or trace: true for the OTEL_* environment.');
  const { fractalVersion } = await import('../runs/manifest.js');
  const scoped = await tracing.startTracing({ ...(typeof options.trace === 'object' && options.trace.exporter ? { exporter: options.trace.exporter } : {}), version: fractalVersion() });
  try {
    // One trace: validation and preflight, then the run (`run <name>`, its stages, their windows, sleeves and cells).
    return await tracing.withSpan('pipeline-run', { 'fractal.file': file }, async (span) => {
      // The caller's exporter takes this run's trace alone.
      scoped?.bind(span.spanContext().traceId);
      const r = await runFile(file, options, tracing.withSpan);
      span.setAttribute('fractal.outcome', r.outcome);
      if (r.outcome !== 'succeeded') span.setStatus({ code: 2, message: r.outcome === 'invalid' ? 'invalid input' : r.summary.error?.code ?? 'failed' });
      if (r.outcome !== 'invalid') span.setAttribute('fractal.run_id', r.summary.run_id);
      return r;
    });
  } finally {
    await tracing.flushTracing();
    await scoped?.release();
  }
}

type SpanFn = typeof import('../util/tracing.js').withSpan;
const untraced: SpanFn = (_name, _attributes, fn) => Promise.resolve(fn(undefined as never));

async function runFile(file: string, options: RunOptions, span: SpanFn = untraced): Promise<RunResult> {
  const v = await span('validate', { 'fractal.file': file }, () => validateWith(file, options));
  const invalid = (errors: FractalError[]): RunResult => ({ outcome: 'invalid', file, diagnostics: v.diagnostics, errors: errors.map(errorInfo), exitCode: 2 });
  if (!v.ok) return invalid([]);
  const warnings = v.diagnostics.filter((d) => d.severity === 'warning');
  if (warnings.length) options.onWarnings?.(warnings);
  const out = options.out ?? 'runs';
  // Fail fast, before any folder is written, when the pipeline (or a sleeve) reads a lakehouse that is not there.
  const lakehouse = lakehousePath(options.lakehouse, { value: v.resolved?.lakehouse, baseDir: v.baseDir });
  const noLakehouseHere = readsLakehouse(v) ? noLakehouse(lakehouse) : undefined;
  if (noLakehouseHere) return invalid([noLakehouseHere]);
  // The runner pulls in the container (inversify) and the stages' heavy libraries: loaded only when something runs.
  const { runPipeline, preflightPipeline } = await import('../pipeline/runner.js');
  const executors = options.workers === false ? undefined : (await import('../exec/executors.js')).workerExecutors;
  const noCache = options.cache === false;
  // What the config and the lakehouse's symbols table can tell, before any folder exists: every problem at once.
  const found: PreflightFindings = {};
  const problems = await span('preflight', { 'fractal.config_hash': v.hash ?? '' }, () => preflightPipeline(v, { lakehousePath: lakehouse, ...(noCache ? {} : { cacheRoot: resolve(out) }) }, undefined, found));
  if (problems.length) return invalid(problems);
  // --from/--reuse: the stages before `from` come from another run when nothing deciding them changed; else refused.
  let reuse: ReusePlan | undefined;
  if (options.from !== undefined || options.reuse !== undefined) {
    const { planReuse } = await import('../pipeline/reuse.js');
    const { createContainer } = await import('../pipeline/container.js');
    const { specOf } = await import('../pipeline/runner.js');
    try {
      reuse = await planReuse(v, specOf(v)!, { from: options.from, run: options.reuse }, { runsRoot: resolve(out), lakehousePath: lakehouse, plugins: createContainer(v.registry).resolver, pins: found.pins });
    } catch (err) {
      if (err instanceof FractalError && err.exitCode === 2) return invalid([err]);
      throw err;
    }
  }
  const summary = await runPipeline(v, {
    outRoot: out,
    lakehousePath: lakehouse,
    ...(options.log ? { log: options.log } : {}),
    ...(options.onProgress ? { progress: options.onProgress } : {}),
    // The host's signals are its own unless it hands them to the run (the CLI does).
    handleSignals: options.handleSignals === true,
    ...(options.onInterrupted ? { onInterrupted: options.onInterrupted } : {}),
    noCache,
    preflighted: found,
    ...(executors ? { executors } : {}),
    ...(options.cellExecutor ? { cellExecutor: options.cellExecutor } : {}),
    ...(options.sleeveExecutor ? { sleeveExecutor: options.sleeveExecutor } : {}),
    ...(options.checkpoints === false ? { checkpoints: false } : {}),
    ...(reuse ? { reuse } : {}),
  });
  const report = ['report.html', 'report.md'].find((f) => summary.artifacts.includes(f));
  return {
    outcome: summary.outcome,
    file,
    summary,
    paths: { folder: summary.folder, manifest: join(summary.folder, 'manifest.json'), audit: join(summary.folder, 'audit.jsonl'), report: report ? join(summary.folder, report) : null },
    // The headline figures beside the ids and hashes (null when the run has no out-of-sample record).
    metrics: summary.outcome === 'succeeded' ? headlineMetrics(summary.folder) : null,
    warnings,
    exitCode: summary.outcome === 'succeeded' ? 0 : summary.error?.exit_code ?? 1,
  };
}
