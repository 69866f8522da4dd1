/**
 * `pipeline-run plan <file>`: the resolved config (YAML) and its hash: what would run. `--diff <file or git ref>`
 * prints what changes between two resolved configs, for a pull-request review. For a tournament: its cells, their
 * overrides and config hashes, and which are already in the result cache. A shell over the API's plan()
 * (src/api/plan.ts).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { isPlainObject } from '../config/origins.js';
import { plan } from '../api/plan.js';
import type { ConfigChange, PlanResult } from '../api/types.js';
import { formatText } from './format.js';
import { addConfigOptions, type ConfigOptions, writeJson } from './shared.js';

import { changeLines } from '../api/plan.js';
export { changeLines, diffValues, keyed } from '../api/plan.js';
export type Change = ConfigChange;

interface PlanCliOptions extends ConfigOptions {
  diff?: string;
  json?: boolean;
  out: string;
  lakehouse?: string;
}

/** A tournament's plan as text or JSON: every cell, its overrides, its config hash and whether it is cached. */
function tournamentPlan(p: Extract<PlanResult, { valid: true }>, json: boolean | undefined): string {
  const t = p.tournament!;
  const cells = t.cells;
  if (json) return `${JSON.stringify({ hash: p.hash, name: p.config.name, base: t.base, champion: t.champion, cells_max: t.cells_max, cache: t.cache, lakehouse: t.lakehouse, cells }, null, 2)}\n`;
  const value = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  // A plugin by its name, with the params that tell two cells of one plugin apart (hrp(linkage=ward)).
  const short = (x: unknown): string => {
    if (!isPlainObject(x) || typeof x.name !== 'string' || Object.keys(x).some((k) => k !== 'name' && k !== 'params')) return value(x);
    const params = isPlainObject(x.params) ? Object.entries(x.params) : [];
    return params.length ? `${x.name}(${params.map(([k, v]) => `${k}=${value(v)}`).join(', ')})` : x.name;
  };
  const idW = Math.max(4, ...cells.map((c) => c.id.length));
  const cached = cells.filter((c) => c.cached).length;
  const known = cells.some((c) => c.cached !== null);
  const base = t.base as { file: string; kind: string; config_hash: string };
  const lines = [
    `# tournament ${p.config.name} · config hash sha256:${p.hash}`,
    `# base: ${base.file} (${base.kind}, config ${base.config_hash.slice(0, 12)}) · champion: ${t.champion} · ${cells.length} cells (cells.max ${t.cells_max})`,
    known ? `# cache ${t.cache} (data of ${t.lakehouse}): ${cached} of ${cells.length} cells unchanged; ${cells.length - cached} to run` : `# cache: the data's identity is not known (no lakehouse at ${t.lakehouse}, or a live scanner): every cell would run`,
    `  ${'cell'.padEnd(idW)}  config        cached  overrides`,
    ...cells.map((c) => `${c.champion ? '*' : ' '} ${c.id.padEnd(idW)}  ${c.config_hash.slice(0, 12)}  ${(c.cached === null ? '?' : c.cached ? 'yes' : 'no').padEnd(6)}  ${Object.entries(c.overrides).map(([k, x]) => `${k}=${short(x)}`).join(', ') || '(the base as written)'}`),
    '(* the champion)',
  ];
  return `${lines.join('\n')}\n`;
}

export function registerPlanCommand(program: Command): void {
  addConfigOptions(
    program
      .command('plan')
      .description('print the resolved config (YAML) and its hash; --diff shows what changes against another file or a git ref')
      .argument('<file>', 'pipeline file'),
  )
    .option('--diff <file-or-ref>', 'another pipeline file, or a git ref (the same file at that commit); --profile and --set apply to both sides')
    .option('--json', 'machine-readable output')
    .option('--out <dir>', 'runs root whose result cache a tournament\'s cells are looked up in', 'runs')
    .option('--lakehouse <dir>', 'lakehouse folder the cells would read (default: FRACTAL_LAKEHOUSE, the file\'s `lakehouse:`, or ./lakehouse)')
    .action(async (file: string, opts: PlanCliOptions) => {
      const p = await plan(file, opts);
      if (!p.valid) {
        // As `run` says it: the located diagnostics, then one line (no second error pointing back at validate).
        if (opts.json) writeJson({ valid: false, file: p.file, diagnostics: p.diagnostics });
        process.stderr.write(formatText(p.diagnostics));
        process.stderr.write(`${p.file} is not valid; nothing planned.\n`);
        process.exitCode = 2;
        return;
      }
      if (p.tournament) {
        process.stdout.write(tournamentPlan(p, opts.json));
        return;
      }
      if (!p.diff) {
        if (opts.json) writeJson({ hash: p.hash, profile: p.profile, config: p.config });
        else process.stdout.write(`# config hash: sha256:${p.hash}\n${p.profile ? `# profile applied: ${p.profile}\n` : ''}${stringify(p.config, { lineWidth: 120 })}`);
        return;
      }
      const { before, after, changes } = p.diff;
      if (opts.json) {
        writeJson({ before, after, changes });
        return;
      }
      const out = [`--- ${before.source}  sha256:${before.hash.slice(0, 16)}`, `+++ ${after.source}  sha256:${after.hash.slice(0, 16)}`];
      if (!changes.length) out.push('no changes: the resolved configs are identical');
      out.push(...changeLines(changes));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
