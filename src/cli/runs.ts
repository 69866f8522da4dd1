/**
 * `pipeline-run runs [--out DIR] [--prune] [--json]`: the runs index (index.md, index.html), written by the API's
 * writeRunsIndex (src/api/runs.ts); `--prune` is pruneRuns, `--json` prints listRuns.
 */
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { listRuns, pruneRuns, writeRunsIndex } from '../api/runs.js';
import { writeJson } from './shared.js';
import { inputError } from '../core/errors.js';

/** A run folder as the other commands print it: under --out as given (absolute when --out is). */
const shown = (out: string, folder: string) => join(out, relative(resolve(out), folder));

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('write an index of all runs (index.md, index.html) with their key metrics')
    .option('--out <dir>', 'runs root', 'runs')
    .option('--json', 'print the index as JSON instead')
    .option('--prune', 'delete the folders of interrupted runs (their process is gone), naming each')
    .option('--keep <n>', "with --prune: also delete each pipeline's finished runs beyond its n newest (except those a kept run points into), and the cache entries and compare pages of what is deleted", (v: string) => {
      const n = Number(v);
      if (!/^\d+$/.test(v.trim()) || n < 1) throw inputError('CLI_BAD_OPTION', `--keep must be a whole number of runs, at least 1, got "${v}"`);
      return n;
    })
    .action(async (opts: { out: string; json?: boolean; prune?: boolean; keep?: number }) => {
      if (opts.keep !== undefined && !opts.prune) throw inputError('CLI_BAD_OPTION', '--keep goes with --prune: `runs --prune --keep N`');
      if (opts.prune) {
        const gone = pruneRuns(opts.out, opts.keep !== undefined ? { keep: opts.keep } : {});
        for (const r of gone) process.stderr.write(`removed ${r.outcome === 'interrupted' ? 'interrupted' : `older (${r.outcome})`} run ${shown(opts.out, r.folder)}${r.outcome === 'interrupted' ? ` (${r.error})` : ''}\n`);
        process.stderr.write(`${gone.length} run(s) removed\n`);
      }
      if (opts.json) {
        // The compare pages an earlier `runs` wrote (--json writes nothing).
        writeJson((await listRuns(opts.out)).map((r) => ({ ...r, metrics: r.metrics ?? null })));
        return;
      }
      const { rows } = await writeRunsIndex(opts.out);
      process.stdout.write(`${join(opts.out, 'index.html')}\n`);
      for (const r of rows.filter((x) => x.outcome === 'interrupted' || x.outcome === 'running' || x.outcome === 'unknown'))
        process.stderr.write(`${r.outcome}: ${shown(opts.out, r.folder)} (${r.error})\n`);
      const interrupted = rows.filter((r) => r.outcome === 'interrupted').length;
      process.stderr.write(`${rows.length} run(s) indexed${interrupted ? `, ${interrupted} interrupted (\`runs --prune\` removes them)` : ''}\n`);
    });
}
