/**
 * `pipeline-run <file>` / `pipeline-run run <file>`: validate, build from the container, run the stages into a
 * run folder. Exit 0 done, 1 the run failed, 2 invalid input or usage (found before the run, or by it: the
 * error's own exit code). With --json, stdout holds exactly one JSON object whatever happens.
 */
import type { Command } from 'commander';
import type { ValidationResult } from '../config/validate.js';
import { formatText } from './format.js';
import { createProgress, setProgressQuiet } from './progress.js';
import { addConfigOptions, errorJson, formatError, isDebug, lakehousePath, validateWith, writeJson, type ConfigOptions } from './shared.js';
import { inputError, type FractalError } from '../core/errors.js';
import type { ScannerMeta } from '../core/plugin.js';
import { existsSync, readFileSync } from 'node:fs';
import { headlineMetrics } from '../runs/headline.js';
import { join, resolve } from 'node:path';

interface RunOptions extends ConfigOptions {
  out: string;
  json?: boolean;
  quiet?: boolean;
  cache?: boolean;
}

export function registerRunCommand(program: Command): void {
  addConfigOptions(
    program
      .command('run')
      .description('validate and run a pipeline file (the default command: `pipeline-run <file>`)')
      .argument('<file>', 'pipeline file'),
  )
    .option('--out <dir>', 'runs root', 'runs')
    .option('--lakehouse <dir>', 'lakehouse folder (default: FRACTAL_LAKEHOUSE, the file\'s `lakehouse:`, or ./lakehouse)')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--quiet', 'print nothing but errors')
    .option('--no-cache', "recompute meta sleeves and tournament cells even when an unchanged result is cached")
    .action(async (file: string, opts: RunOptions) => {
      setProgressQuiet(Boolean(opts.json || opts.quiet));
      const v = await validateWith(file, opts);
      const warnings = v.diagnostics.filter((d) => d.severity === 'warning');
      if (!v.ok) {
        if (opts.json) writeJson({ outcome: 'invalid', file, diagnostics: v.diagnostics });
        process.stderr.write(formatText(v.diagnostics));
        process.stderr.write(`${file} is not valid; nothing was run.\n`);
        process.exitCode = 2;
        return;
      }
      if (warnings.length && !opts.quiet) process.stderr.write(formatText(warnings));
      const log = opts.quiet || opts.json ? () => {} : (m: string) => process.stderr.write(`${m}\n`);
      // Fail fast, before any folder is written, when the pipeline (or a sleeve) reads a lakehouse that is not there.
      const lakehouse = lakehousePath(opts.lakehouse, { value: v.resolved?.lakehouse, baseDir: v.baseDir });
      if (readsLakehouse(v) && !existsSync(join(lakehouse, 'registry.json')))
        return refuse(file, [inputError('LAKEHOUSE_MISSING', `no lakehouse at ${lakehouse}`)], opts);
      // The runner pulls in the container (inversify); loaded only when something runs, so `validate` starts fast.
      const { runPipeline, preflightPipeline } = await import('../pipeline/runner.js');
      const { workerExecutors } = await import('../exec/executors.js');
      // What the config and the lakehouse's symbols table can tell, before any folder exists: every problem at once.
      const problems = await preflightPipeline(v, { lakehousePath: lakehouse, ...(opts.cache === false ? {} : { cacheRoot: resolve(opts.out) }) });
      if (problems.length) return refuse(file, problems, opts);
      const progress = createProgress();
      try {
        const summary = await runPipeline(v, {
          outRoot: opts.out,
          lakehousePath: lakehouse,
          log,
          progress: (label, done, total) => progress.update(label, done, total),
          noCache: opts.cache === false,
          preflighted: true,
          executors: workerExecutors,
        });
        progress.stop();
        // The headline figures beside the ids and hashes (null when the run has no out-of-sample record).
        if (opts.json) writeJson({ ...summary, metrics: summary.outcome === 'succeeded' ? headlineMetrics(summary.folder) : null });
        else if (summary.outcome === 'succeeded') {
          if (!opts.quiet) process.stderr.write(`run ${summary.run_id} succeeded in ${summary.duration_ms} ms\n`);
          const band = volatilityDrift(summary.folder);
          if (!opts.quiet && band) process.stderr.write(`${band}\n`);
          if (!opts.quiet) process.stdout.write(`${summary.folder}\n`);
          const report = ['report.html', 'report.md'].find((f) => summary.artifacts.includes(f));
          if (!opts.quiet && report) process.stderr.write(`report: ${summary.folder}/${report}\n`);
        }
        if (summary.outcome !== 'succeeded') {
          const e = summary.error!;
          process.stderr.write(`run ${summary.run_id} failed${e.stage ? ` in stage '${e.stage}'` : ''}:\n${formatError(e)}`);
          process.stderr.write(`the failed run is in ${summary.folder}\n`);
          if (summary.unwritten?.length) process.stderr.write(`  not written there (${summary.unwritten.join(', ')}): the folder's name marks the failure\n`);
          if (isDebug() && existsSync(join(summary.folder, 'FAILED'))) process.stderr.write(readFileSync(join(summary.folder, 'FAILED'), 'utf8'));
        }
        process.exitCode = summary.outcome === 'succeeded' ? 0 : summary.error?.exit_code ?? 1;
      } finally {
        progress.stop();
      }
    });
}

/** The volatility-band DRIFT flag of a backtest (metrics.json), as a console line; undefined when not flagged. */
function volatilityDrift(folder: string): string | undefined {
  try {
    const band = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest?.volatility_band;
    if (!band?.flagged) return undefined;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    return `DRIFT: realised volatility ${pct(band.realised)} is ${(band.drift * 100).toFixed(1)} points above the ${band.engine} band of ${pct(band.band)} (flagged beyond ${((band.limit ?? 0.25) * 100).toFixed(0)} points); see the report`;
  } catch {
    return undefined;
  }
}

/** Input refused before anything was written: every problem located, exit 2, one JSON object with --json. */
function refuse(file: string, problems: FractalError[], opts: RunOptions): void {
  for (const e of problems) process.stderr.write(formatError(e));
  process.stderr.write(`${file}: nothing was run.\n`);
  if (opts.json) writeJson({ outcome: 'invalid', file, errors: problems.map(errorJson) });
  process.exitCode = 2;
}

/** Whether the pipeline, or any sleeve of a meta or cell of a tournament, has a scanner that reads the lakehouse (its meta says). */
function readsLakehouse(v: ValidationResult): boolean {
  const scanner = v.resolved?.stages.find((s) => s.type === 'ingestion')?.params.scanner as { name?: string } | undefined;
  const meta = scanner?.name === undefined ? undefined : (v.registry.lookup('scanner', scanner.name)?.cls.meta as ScannerMeta | undefined);
  if (meta?.readsLakehouse) return true;
  return [...Object.values(v.sleeves ?? {}), ...Object.values(v.cells ?? {})].some(readsLakehouse);
}
