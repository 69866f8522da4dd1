/**
 * `pipeline-run docs [--check]`: the config reference, one page per plugin, written (or checked) by the API's
 * writeDocs/checkDocs (src/api/reference.ts). `--check` fails when docs/reference drifts.
 */
import type { Command } from 'commander';
import { checkDocs, writeDocs } from '../api/reference.js';

export function registerDocsCommand(program: Command): void {
  program
    .command('docs')
    .description('write docs/reference (one page per plugin) from the registry; --check fails when it differs')
    .option('--check', 'compare instead of writing; exit 1 when they differ')
    .option('--out <dir>', 'reference folder', 'docs/reference')
    .action((opts: { check?: boolean; out: string }) => {
      if (opts.check) {
        const { files, stale, extra } = checkDocs(opts.out);
        if (stale.length || extra.length) {
          process.stderr.write(`docs out of date in ${opts.out}/: ${[...stale, ...extra.map((e) => `${e} (no such plugin)`)].join(', ')}\nRun \`npm run generate\` (or \`pipeline-run docs\` after a build) and commit the result.\n`);
          process.exitCode = 1;
        } else process.stderr.write(`docs up to date (${files} pages)\n`);
        return;
      }
      const { stale, extra } = writeDocs(opts.out);
      process.stderr.write(`${stale.length} page(s) written, ${extra.length} removed in ${opts.out}/\n`);
    });
}
