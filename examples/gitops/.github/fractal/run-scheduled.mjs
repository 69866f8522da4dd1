#!/usr/bin/env node
// The scheduled run: runs each production pipeline (`pipeline-run <file> --profile P --json`), one after the other,
// keeps going when one fails, rebuilds the runs index (`pipeline-run runs`), and writes a table of outcomes and
// headline metrics to the job summary ($GITHUB_STEP_SUMMARY) or stdout. Exit 1 when any run failed or was refused, so
// the workflow shows red (after the index and the artifacts are written), 2 on bad usage.
//
//   node .github/fractal/run-scheduled.mjs [--profile production] [--out runs] [--summary FILE]
//                                          [--cli "npx pipeline-run"] pipelines/a.yaml pipelines/b.yaml
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

function parseArgs(argv) {
  const opts = { profile: '', out: 'runs', cli: 'npx pipeline-run', summary: process.env.GITHUB_STEP_SUMMARY || '', files: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (['--profile', '--out', '--summary', '--cli'].includes(k)) {
      if (argv[i + 1] === undefined) usage(`${k} needs a value`);
      opts[k.slice(2)] = argv[++i];
    } else if (k.startsWith('--')) usage(`unknown option ${k}`);
    else opts.files.push(k);
  }
  if (!opts.files.length) usage('name at least one pipeline file');
  return opts;
}

function usage(why) {
  process.stderr.write(`run-scheduled: ${why}\nusage: run-scheduled.mjs [--profile NAME] [--out DIR] [--summary FILE] [--cli CMD] FILE...\n`);
  process.exit(2);
}

function cli(opts, args) {
  const [cmd, ...pre] = opts.cli.split(' ').filter(Boolean);
  const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const pct = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '—');
const fix = (x) => (typeof x === 'number' ? x.toFixed(2) : '—');
const cell = (s) => String(s).replace(/\|/g, '/').replace(/\n/g, ' ');

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const rows = [];
  for (const file of opts.files) {
    // A line before and after each run: the job's log shows which pipeline is running and how long each took.
    const started = Date.now();
    process.stderr.write(`${file}: running…\n`);
    const r = cli(opts, [file, '--out', opts.out, '--json', ...(opts.profile ? ['--profile', opts.profile] : [])]);
    let s;
    try {
      s = JSON.parse(r.stdout);
    } catch {
      s = { outcome: 'error', error: { code: 'NO_OUTPUT', message: (r.stderr.trim().split('\n').pop() ?? '') || `exit ${r.code}` } };
    }
    // An invalid file: its first error with its place (file:line:col), and how many more the validate step lists.
    const invalid = s.diagnostics?.filter((d) => d.severity === 'error') ?? [];
    const err = s.error ?? s.errors?.[0] ?? (invalid.length ? { code: invalid[0].code, message: `${invalid[0].file}:${invalid[0].line}:${invalid[0].column}: ${invalid[0].message}${invalid.length > 1 ? ` (and ${invalid.length - 1} more: see the validate step)` : ''}` } : undefined);
    rows.push({ file, exit: r.code, outcome: s.outcome, run_id: s.run_id ?? '', folder: s.folder ?? '', metrics: s.metrics ?? null, error: err ? `[${err.code}] ${err.message}` : '' });
    process.stderr.write(`${file}: ${s.outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s${err ? ` ${err.code ? `[${err.code}] ` : ''}${err.message}` : ''}\n`);
  }
  const index = cli(opts, ['runs', '--out', opts.out]);
  const failed = rows.filter((r) => r.exit !== 0);
  const md = [
    `## Scheduled runs${opts.profile ? ` (profile ${opts.profile})` : ''}`,
    '',
    `${rows.length - failed.length} of ${rows.length} succeeded. The runs index (\`${opts.out}/index.html\`) is in this workflow's artifact${index.code === 0 ? '' : ` (not rebuilt: ${cell(index.stderr.trim().split('\n').pop() ?? '')})`}.`,
    '',
    '| pipeline | outcome | CAGR | Sharpe | max drawdown | turnover | run | error |',
    '|---|---|---:|---:|---:|---:|---|---|',
    ...rows.map((r) => `| \`${r.file}\` | ${r.outcome} | ${pct(r.metrics?.cagr)} | ${fix(r.metrics?.sharpe)} | ${pct(r.metrics?.max_drawdown)} | ${pct(r.metrics?.turnover)} | ${r.run_id} | ${cell(r.error)} |`),
    '',
  ].join('\n');
  if (opts.summary) appendFileSync(opts.summary, md);
  else process.stdout.write(md);
  process.exit(failed.length ? 1 : 0);
}

main();
