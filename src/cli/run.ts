/**
 * `pipeline-run <file>` / `pipeline-run run <file>`: validate, build from the container, run the stages into a
 * run folder. Exit 0 done, 1 the run failed, 2 invalid input or usage.
 */
import type { Command } from 'commander';
import { formatText } from './format.js';
import { createProgress, setProgressQuiet } from './progress.js';
import { addConfigOptions, isDebug, lakehousePath, validateWith, type ConfigOptions } from './shared.js';
import { readFileSync } from 'node:fs';
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
        process.stderr.write(formatText(v.diagnostics));
        process.stderr.write(`${file} is not valid; nothing was run.\n`);
        process.exitCode = 2;
        return;
      }
      if (warnings.length && !opts.quiet) process.stderr.write(formatText(warnings));
      const progress = createProgress();
      const log = opts.quiet || opts.json ? () => {} : (m: string) => process.stderr.write(`${m}\n`);
      // The runner pulls in the container (inversify); loaded only when something runs, so `validate` starts fast.
      const { runPipeline } = await import('../core/runner.js');
      try {
        const summary = await runPipeline(v, {
          outRoot: opts.out,
          lakehousePath: lakehousePath(opts.lakehouse, { value: v.resolved?.lakehouse, baseDir: v.baseDir }),
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
