/**
 * `pipeline-run <file>` / `pipeline-run run <file>`: a shell over the API's run() (src/api/run.ts), which
 * validates, preflights, builds from the container and runs the stages into a run folder. Exit 0 done, 1 the run
 * failed, 2 invalid input or usage (found before the run, or by it: the error's own exit code). With --json, stdout
 * holds exactly one JSON object whatever happens.
 */
import type { Command } from 'commander';
import { cashFlag, floorFlag, survivorshipFlag } from '../runs/record-flags.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../api/run.js';
import type { ConfigOptions } from '../api/types.js';
import { formatText } from './format.js';
import { createProgress, setProgressQuiet } from './progress.js';
import { addConfigOptions, formatError, isDebug, writeJson } from './shared.js';
import { inputError } from '../core/errors.js';
import { bullmqExecutors, type BullmqExecutors } from '../api/queue.js';

interface RunCliOptions extends ConfigOptions {
  out: string;
  json?: boolean;
  quiet?: boolean;
  cache?: boolean;
  from?: string;
  reuse?: string;
  checkpoints?: boolean;
  executor: string;
  redis?: string;
  queue: string;
  trace?: boolean;
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
    .option('--from <stage>', 'start at this stage (type, type#n, or 1-based number), taking the earlier stages from --reuse')
    .option('--reuse <run>', 'the run to take the stages before --from from: its folder, its run id, or `latest`')
    .option('--no-checkpoints', 'write no stage checkpoints (the run cannot be reused with --from)')
    .option('--executor <name>', "where a meta's sleeves and a tournament's cells run: local (worker threads) or bullmq (workers on a Redis queue: docs/distributed.md)", 'local')
    .option('--redis <url>', 'Redis URL for --executor bullmq (default: FRACTAL_REDIS_URL)')
    .option('--queue <name>', 'BullMQ queue name for --executor bullmq', 'fractal')
    .option('--trace', 'export OpenTelemetry traces (where OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_ENDPOINT say; OTLP to localhost:4318 by default)')
    .action(async (file: string, opts: RunCliOptions) => {
      setProgressQuiet(Boolean(opts.json || opts.quiet));
      const quiet = opts.quiet || opts.json;
      if (opts.executor !== 'local' && opts.executor !== 'bullmq') throw inputError('CLI_BAD_OPTION', `--executor must be local or bullmq, got '${opts.executor}'`);
      // --executor bullmq: sleeves and cells go to workers through Redis (reachable, checked before anything is written).
      let remote: BullmqExecutors | undefined;
      if (opts.executor === 'bullmq')
        remote = await bullmqExecutors({ redis: opts.redis, queue: opts.queue, warn: (m) => process.stderr.write(`warning: ${m}\n`), log: quiet ? () => {} : (m) => process.stderr.write(`${m}\n`) });
      const progress = await createProgress();
      try {
        const r = await run(file, {
          ...opts,
          ...(remote ? { cellExecutor: remote.cellExecutor, sleeveExecutor: remote.sleeveExecutor } : {}),
          cache: opts.cache !== false,
          checkpoints: opts.checkpoints !== false,
          // --trace turns traces on; without it the environment decides (OTEL_TRACES_EXPORTER).
          trace: opts.trace ? true : undefined,
          log: quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
          // Validation warnings (deprecated names): printed before anything runs.
          onWarnings: (ws) => void (opts.quiet ? undefined : process.stderr.write(formatText(ws))),
          onProgress: (label, done, total) => progress.update(label, done, total),
          // A signal ends the process: what a finished run prints (the error, or the --json summary) comes first.
          handleSignals: true,
          onInterrupted: (summary) => {
            progress.stop();
            if (opts.json) writeJson(summary);
            process.stderr.write(`\nrun ${summary.run_id} failed${summary.error?.stage ? ` in stage '${summary.error.stage}'` : ''}:\n${formatError(summary.error!)}`);
            process.stderr.write(`the failed run is in ${summary.folder}\n`);
          },
        });
        progress.stop();
        if (r.outcome === 'invalid') {
          if (!r.errors.length) {
            if (opts.json) writeJson({ outcome: 'invalid', file, diagnostics: r.diagnostics });
            process.stderr.write(formatText(r.diagnostics));
            process.stderr.write(`${file} is not valid; nothing was run.\n`);
          } else {
            for (const e of r.errors) process.stderr.write(formatError(e));
            process.stderr.write(`${file}: nothing was run.\n`);
            if (opts.json) writeJson({ outcome: 'invalid', file, errors: r.errors });
          }
          process.exitCode = 2;
          return;
        }
        const summary = r.summary;
        if (opts.json) writeJson({ ...summary, metrics: r.metrics });
        else if (summary.outcome === 'succeeded' && !opts.quiet) {
          process.stderr.write(`run ${summary.run_id} succeeded in ${summary.duration_ms} ms\n`);
          for (const flag of recordFlags(summary.folder)) process.stderr.write(`${flag}\n`);
          process.stdout.write(`${summary.folder}\n`);
          if (r.paths.report) process.stderr.write(`report: ${r.paths.report}\n`);
        }
        if (summary.outcome !== 'succeeded') {
          const e = summary.error!;
          process.stderr.write(`run ${summary.run_id} failed${e.stage ? ` in stage '${e.stage}'` : ''}:\n${formatError(e)}`);
          process.stderr.write(`the failed run is in ${summary.folder}\n`);
          if (summary.unwritten?.length) process.stderr.write(`  not written there (${summary.unwritten.join(', ')}): the folder's name marks the failure\n`);
          if (isDebug() && existsSync(join(summary.folder, 'FAILED'))) process.stderr.write(readFileSync(join(summary.folder, 'FAILED'), 'utf8'));
        }
        process.exitCode = r.exitCode;
      } finally {
        progress.stop();
        await remote?.close();
      }
    });
}

/**
 * A backtest's flags (metrics.json) as console lines: CASH when the as-of decision holds cash, the volatility band's
 * DRIFT, CASH when at least half the decisions held cash, FLOOR when decisions picked fewer names than the policy's
 * min_winners, and SURVIVORSHIP when past decisions drew from a universe that is not point in time.
 */
function recordFlags(folder: string): string[] {
  try {
    const metrics = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8'));
    const bt = metrics.backtest;
    const out: string[] = [];
    const asOf = metrics.allocation;
    if (typeof asOf?.cash_reason === 'string') out.push(`CASH: the decision as of ${asOf.decision?.as_of ?? 'the as-of date'} holds cash (${asOf.cash_reason}): weights.json is empty`);
    const band = bt?.volatility_band;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    if (band?.flagged) out.push(`DRIFT: realised volatility ${pct(band.realised)} is ${(band.drift * 100).toFixed(1)} points above the ${band.engine} band of ${pct(band.band)} (flagged beyond ${((band.limit ?? 0.25) * 100).toFixed(0)} points); see the report`);
    const cash = bt ? cashFlag(bt) : undefined;
    if (cash) out.push(`${cash.text}; each window's cash_reason is in audit.jsonl (and the report, with a report stage)`);
    const floor = bt ? floorFlag(bt) : undefined;
    if (floor) out.push(`${floor}; see the report's walk-forward windows`);
    const survivorship = bt ? survivorshipFlag(bt) : undefined;
    if (survivorship) out.push(`${survivorship}: the record is an upper bound; see the report`);
    return out;
  } catch {
    return [];
  }
}
