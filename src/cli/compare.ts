/** `pipeline-run compare <runA> <runB> [--format md|json|html]`: prints what the API's compareRuns (src/api/compare.ts) finds. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { compareRuns, formatHtml, formatMarkdown } from '../api/compare.js';
import { runFolderOf } from '../api/runs.js';
import { writeJson } from './shared.js';

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('what changed between two runs: the resolved-config diff, data hashes, metrics side by side, the weights that changed most')
    .argument('<runA>', 'a run folder (the one before), or a run id under --out')
    .argument('<runB>', 'a run folder (the one after), or a run id under --out')
    .option('--out <dir>', 'the runs root run ids are looked up in', 'runs')
    .option('--format <format>', 'md, json or html', 'md')
    .option('--top <n>', 'weights shown', (v) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1) throw inputError('CLI_BAD_OPTION', `--top must be a whole number from 1, got "${v}"`);
      return n;
    }, 15)
    .option('--json', 'the same as --format json')
    .action(async (runA: string, runB: string, opts: { format: string; top: number; json?: boolean; out: string }) => {
      const format = opts.json ? 'json' : opts.format;
      if (!['md', 'json', 'html'].includes(format)) throw inputError('USAGE', `--format must be md, json or html, got "${format}"`);
      const c = await compareRuns(runFolderOf(runA, opts.out), runFolderOf(runB, opts.out), opts.top);
      if (format === 'json') writeJson(c);
      else process.stdout.write(format === 'md' ? formatMarkdown(c) : formatHtml(c, (s) => (existsSync(join(s.folder, 'report.html')) ? join(s.folder, 'report.html') : undefined)));
    });
}

