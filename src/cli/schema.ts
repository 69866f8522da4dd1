/** `pipeline-run schema [--check] [--out DIR]`: writes (or checks) the editor schemas generated from the registry. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateSchemas, schemaText } from '../config/schema-gen.js';
import { getRegistry } from './shared.js';

export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description('write schemas/*.schema.json from the plugin registry; --check fails when the committed files differ')
    .option('--check', 'compare instead of writing; exit 1 when they differ')
    .option('--out <dir>', 'schemas folder', 'schemas')
    .action((opts: { check?: boolean; out: string }) => {
      const dir = resolve(opts.out);
      const files = generateSchemas(getRegistry());
      const stale: string[] = [];
      for (const [name, schema] of Object.entries(files)) {
        const path = join(dir, name);
        const text = schemaText(schema);
        const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
        if (current === text) continue;
        stale.push(name);
        if (!opts.check) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(`${path}.tmp`, text);
          renameSync(`${path}.tmp`, path);
        }
      }
      if (opts.check) {
        if (stale.length) {
          process.stderr.write(`schemas out of date in ${opts.out}/: ${stale.join(', ')}\nRun \`npm run generate\` (or \`pipeline-run schema\` after a build) and commit the result.\n`);
          process.exitCode = 1;
        } else process.stderr.write(`schemas up to date (${Object.keys(files).length} files)\n`);
      } else process.stderr.write(stale.length ? `wrote ${stale.map((s) => `${opts.out}/${s}`).join(', ')}\n` : `schemas already up to date\n`);
    });
}
