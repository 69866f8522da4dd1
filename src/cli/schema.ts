/** `pipeline-run schema [--check] [--out DIR]`: writes (or checks) the editor schemas, through the API's writeSchemas/checkSchemas. */
import type { Command } from 'commander';
import { checkSchemas, writeSchemas } from '../api/reference.js';

export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('write schemas/*.schema.json from the plugin registry; --check fails when the committed files differ')
    .option('--check', 'compare instead of writing; exit 1 when they differ')
    .option('--out <dir>', 'schemas folder', 'schemas')
    .action((opts: { check?: boolean; out: string }) => {
      const { files, stale } = opts.check ? checkSchemas(opts.out) : writeSchemas(opts.out);
      if (opts.check) {
        if (stale.length) {
          process.stderr.write(`schemas out of date in ${opts.out}/: ${stale.join(', ')}\nRun \`npm run generate\` (or \`pipeline-run schema\` after a build) and commit the result.\n`);
          process.exitCode = 1;
        } else process.stderr.write(`schemas up to date (${files} files)\n`);
      } else process.stderr.write(stale.length ? `wrote ${stale.map((s) => `${opts.out}/${s}`).join(', ')}\n` : `schemas already up to date\n`);
    });
}
