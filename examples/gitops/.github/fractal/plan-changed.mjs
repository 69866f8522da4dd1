#!/usr/bin/env node
// The pull-request check's plan step: for every pipeline file under the pipelines folder, what its resolved config
// (extends merged, profile applied, defaults filled) changes against the base commit, as `pipeline-run plan --diff`
// prints it. Comparing resolved configs finds every pipeline a change reaches: one whose own file changed, and one
// whose base file (`extends`) or profile changed. New and removed pipelines are listed too. Markdown goes to the job
// summary ($GITHUB_STEP_SUMMARY) or stdout. Exit 0 (the validate step fails the job on invalid files), 2 on bad usage.
//
//   node .github/fractal/plan-changed.mjs --base <sha or ref> [--pipelines pipelines] [--summary FILE]
//                                         [--profile NAME] [--cli "npx pipeline-run"]
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function parseArgs(argv) {
  const opts = { pipelines: 'pipelines', cli: 'npx pipeline-run', summary: process.env.GITHUB_STEP_SUMMARY || '' };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (!['--base', '--pipelines', '--summary', '--profile', '--cli'].includes(k) || v === undefined) usage(`unknown or incomplete option ${k}`);
    opts[k.slice(2)] = v;
    i++;
  }
  if (!opts.base) usage('--base is required');
  return opts;
}

function usage(why) {
  process.stderr.write(`plan-changed: ${why}\nusage: plan-changed.mjs --base <ref> [--pipelines DIR] [--summary FILE] [--profile NAME] [--cli CMD]\n`);
  process.exit(2);
}

const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const isPipeline = (f) => /\.(ya?ml|json)$/i.test(f);

/** Pipeline files under `dir` in the work tree, relative to the repository root, sorted. */
function filesNow(dir) {
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (isPipeline(name)) out.push(relative(process.cwd(), p));
    }
  };
  walk(dir);
  return out;
}

/** Pipeline files under `dir` at the base commit. */
function filesAt(base, dir) {
  const listed = git('ls-tree', '-r', '--name-only', base, '--', dir);
  return listed ? listed.split('\n').filter(isPipeline).sort() : [];
}

function cli(opts, args) {
  const [cmd, ...pre] = opts.cli.split(' ').filter(Boolean);
  const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8' });
  // plan exits 0 or 2 (an invalid file); anything else is the CLI failing to run at all (not installed, a crash):
  // no pipeline was compared, and saying "not compared" for each would hide that.
  if (r.status !== 0 && r.status !== 2) {
    process.stderr.write(`${opts.cli} ${args.join(' ')} did not run (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}\n`);
    process.exit(1);
  }
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const firstError = (text) => (text.split('\n').find((l) => /error/i.test(l)) ?? text.split('\n')[0] ?? '').trim();

function main() {
  const opts = parseArgs(process.argv.slice(2));
  try {
    git('rev-parse', '--verify', `${opts.base}^{commit}`);
  } catch {
    usage(`--base ${opts.base} is not a commit here (check out with fetch-depth: 0)`);
  }
  const short = git('rev-parse', '--short', opts.base);
  const now = filesNow(opts.pipelines);
  const before = new Set(filesAt(opts.base, opts.pipelines));
  const profile = opts.profile ? ['--profile', opts.profile] : [];
  const sections = [];
  const counts = { changed: 0, new: 0, removed: 0, unchanged: 0, invalid: 0 };
  for (const file of now) {
    if (!before.has(file)) {
      const r = cli(opts, ['plan', file, ...profile]);
      counts.new++;
      sections.push(`### \`${file}\` (new)\n\n${r.code === 0 ? `Resolves to \`${(/sha256:([0-9a-f]{16})/.exec(r.stdout) ?? [])[0] ?? '?'}\`:\n\n<details><summary>resolved config</summary>\n\n\`\`\`yaml\n${r.stdout.trimEnd()}\n\`\`\`\n</details>` : `Not valid: ${firstError(r.stderr || r.stdout)}`}`);
      continue;
    }
    const r = cli(opts, ['plan', file, '--diff', opts.base, ...profile]);
    if (r.code !== 0) {
      const now = cli(opts, ['plan', file, ...profile]);
      if (now.code === 0) {
        // Valid now, not at the base (this change fixes it): what it resolves to now.
        counts.changed++;
        sections.push(`### \`${file}\` (not valid at ${short}, valid now)\n\nAt ${short}: ${firstError(r.stderr || r.stdout)}. Resolves now to \`${(/sha256:([0-9a-f]{16})/.exec(now.stdout) ?? [])[0] ?? '?'}\`:\n\n<details><summary>resolved config</summary>\n\n\`\`\`yaml\n${now.stdout.trimEnd()}\n\`\`\`\n</details>`);
        continue;
      }
      counts.invalid++;
      sections.push(`### \`${file}\` (not compared)\n\n${firstError(r.stderr || r.stdout)} (see the validate step's annotations)`);
      continue;
    }
    if (/no changes: the resolved configs are identical/.test(r.stdout)) {
      counts.unchanged++;
      continue;
    }
    counts.changed++;
    const n = r.stdout.split('\n').filter((l) => /^[~+-] /.test(l)).length;
    sections.push(`### \`${file}\` (${n} change${n === 1 ? '' : 's'})\n\n\`\`\`diff\n${r.stdout.trimEnd()}\n\`\`\``);
  }
  for (const file of [...before].filter((f) => !now.includes(f))) {
    counts.removed++;
    sections.push(`### \`${file}\` (removed)`);
  }
  const total = now.length + counts.removed;
  const head = `## Pipelines against ${short}${opts.profile ? ` (profile ${opts.profile})` : ''}\n\n${total} pipeline file(s): ${counts.changed} changed, ${counts.new} new, ${counts.removed} removed, ${counts.unchanged} unchanged${counts.invalid ? `, ${counts.invalid} not compared` : ''}. Each diff is of the resolved config (extends, profile and defaults applied): a change to a base file or a profile shows in every pipeline it reaches.\n`;
  const md = `${head}\n${sections.join('\n\n')}\n`;
  if (opts.summary) appendFileSync(opts.summary, md);
  else process.stdout.write(md);
  process.stderr.write(`${counts.changed} changed, ${counts.new} new, ${counts.removed} removed, ${counts.unchanged} unchanged${counts.invalid ? `, ${counts.invalid} not compared` : ''}\n`);
}

main();
