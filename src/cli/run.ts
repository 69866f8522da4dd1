/**
 * `pipeline-run <file>` / `pipeline-run run <file>`: validate, build from the container, run the stages into a
 * run folder. Exit 0 done, 1 the run failed, 2 invalid input or usage.
 */
import type { Command } from 'commander';
import type { ValidationResult } from '../config/validate.js';
import { formatText } from './format.js';
import { createProgress, setProgressQuiet } from './progress.js';
import { addConfigOptions, isDebug, lakehousePath, validateWith, type ConfigOptions } from './shared.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface RunOptions extends ConfigOptions {
  out: string;
  lakehouse?: string;
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
    .option('--no-cache', 'recompute meta sleeves even when an unchanged result is cached')
    .action(async (file: string, opts: RunOptions) => {
      setProgressQuiet(Boolean(opts.json || opts.quiet));
      const v = await validateWith(file, opts);
      const warnings = v.diagnostics.filter((d) => d.severity === 'warning');
      if (!v.ok) {
        if (opts.json) process.stdout.write(`${JSON.stringify({ outcome: 'invalid', file, diagnostics: v.diagnostics }, null, 2)}\n`);
        process.stderr.write(formatText(v.diagnostics));
        process.stderr.write(`${file} is not valid; nothing was run.\n`);
        process.exitCode = 2;
        return;
      }
      if (warnings.length && !opts.quiet) process.stderr.write(formatText(warnings));
      const progress = createProgress();
      const log = opts.quiet || opts.json ? () => {} : (m: string) => process.stderr.write(`${m}\n`);
      // Fail fast, before any folder is written, when the pipeline (or a sleeve) reads a lakehouse that is not there.
      const lakehouse = lakehousePath(opts.lakehouse, { value: v.resolved?.lakehouse, baseDir: v.baseDir });
      if (readsLakehouse(v) && !existsSync(join(lakehouse, 'registry.json'))) {
        process.stderr.write(`error LAKEHOUSE_MISSING: no lakehouse at ${lakehouse}\n  hint: fill it with \`pipeline-run lakehouse seed --synthetic\`, \`lakehouse import <csv>\` or \`lakehouse ingest --exchange <id>\`, or point --lakehouse / FRACTAL_LAKEHOUSE at one.\n`);
        if (opts.json) process.stdout.write(`${JSON.stringify({ outcome: 'invalid', file, error: { code: 'LAKEHOUSE_MISSING', message: `no lakehouse at ${lakehouse}` } }, null, 2)}\n`);
        process.exitCode = 2;
        return;
      }
      // The runner pulls in the container (inversify); loaded only when something runs, so `validate` starts fast.
      const { runPipeline } = await import('../core/runner.js');
      try {
        const summary = await runPipeline(v, {
          outRoot: opts.out,
          lakehousePath: lakehouse,
          log,
          progress: (label, done, total) => progress.update(label, done, total),
          noCache: opts.cache === false,
        });
        progress.stop();
        if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else if (summary.outcome === 'succeeded') {
          if (!opts.quiet) process.stderr.write(`run ${summary.run_id} succeeded in ${summary.duration_ms} ms\n`);
          if (!opts.quiet) process.stdout.write(`${summary.folder}\n`);
          const report = ['report.html', 'report.md'].find((f) => summary.artifacts.includes(f));
          if (!opts.quiet && report) process.stderr.write(`report: ${summary.folder}/${report}\n`);
        } else {
          process.stderr.write(`run ${summary.run_id} failed in stage '${summary.error?.stage}': [${summary.error?.code}] ${summary.error?.message}\n`);
          process.stderr.write(`the failed run is in ${summary.folder}\n`);
          if (isDebug()) process.stderr.write(readFileSync(join(summary.folder, 'FAILED'), 'utf8'));
        }
        process.exitCode = summary.outcome === 'succeeded' ? 0 : 1;
      } finally {
        progress.stop();
      }
    });
}

/** Whether the pipeline, or any sleeve of a meta pipeline, discovers or reads through the lakehouse. */
function readsLakehouse(v: ValidationResult): boolean {
  const scanner = v.resolved?.stages.find((s) => s.type === 'ingestion')?.params.scanner as { name?: string } | undefined;
  if (scanner && ['lakehouse', 'ccxt', 'tradingview'].includes(String(scanner.name))) return true;
  return Object.values(v.sleeves ?? {}).some(readsLakehouse);
}
