/**
 * The GitOps example (examples/gitops/.github, docs/gitops.md), tested outside GitHub: the pull-request check's plan
 * script against a temporary git repository whose branch changes a pipeline, a profile another pipeline uses, adds
 * and removes pipelines; the scheduled-run script on a good and a failing pipeline; and the workflows pass actionlint
 * while a broken copy does not (so the CI step can fail).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './helpers.js';

const FRACTAL = join(repo, 'examples', 'gitops', '.github', 'fractal');
const CLI = `${process.execPath} ${join(repo, 'bin', 'pipeline-run.js')}`;
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-gitops-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (name: string, topN = 2, extra = '') => `pipeline: selection
version: "4.0"
name: ${name}
${extra}stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 24, days: 300, seed: 3 } }, lookback_days: 120 }
  - type: feature_engineering
  - type: inference
  - type: clustering
  - type: policy
    params: { top_n: ${topN}, min_winners: 4 }
  - type: allocation
    params: { engine: equal_weight }
`;

function write(root: string, files: Record<string, string>): void {
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text);
  }
}

const run = (cwd: string, cmd: string, args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const git = (cwd: string, ...args: string[]) => run(cwd, 'git', ['-c', 'user.email=ci@example.org', '-c', 'user.name=ci', ...args]);

test('plan-changed: every pipeline the branch reaches, with its resolved diff; new and removed ones; unchanged ones not', () => {
  const root = join(tmp, 'repo');
  mkdirSync(root);
  git(root, 'init', '-q', '-b', 'main');
  write(root, {
    'pipelines/long.yaml': pipeline('long'),
    'pipelines/old.yaml': pipeline('old'),
    'pipelines/profiled.yaml': pipeline('profiled', 2, 'profile: development\n'),
    'pipelines/steady.yaml': pipeline('steady'),
    'profiles/development.yaml': 'ingestion: { lookback_days: 120 }\n',
    'profiles/production.yaml': 'ingestion: { lookback_days: 200 }\n',
  });
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'base');
  git(root, 'checkout', '-qb', 'change');
  write(root, {
    'pipelines/long.yaml': pipeline('long', 3), // its own file changes
    'profiles/development.yaml': 'ingestion: { lookback_days: 90 }\n', // reaches profiled.yaml only
    'pipelines/new.yaml': pipeline('new'),
  });
  rmSync(join(root, 'pipelines/old.yaml'));
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'change');

  const summary = join(tmp, 'summary.md');
  const r = run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'main', '--summary', summary, '--cli', CLI]);
  expect(r.stderr).toContain('2 changed, 1 new, 1 removed, 1 unchanged');
  expect(r.code).toBe(0);
  const md = readFileSync(summary, 'utf8');
  // The same lines `plan --diff` prints, for the pipeline whose file changed and the one a profile change reaches.
  const plan = run(root, process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'plan', 'pipelines/long.yaml', '--diff', 'main']);
  expect(md).toContain(`### \`pipelines/long.yaml\` (1 change)\n\n\`\`\`diff\n${plan.stdout.trimEnd()}\n\`\`\``);
  expect(md).toContain('~ stages.policy.top_n: 2 -> 3');
  expect(md).toMatch(/### `pipelines\/profiled.yaml` \(1 change\)[\s\S]*~ stages.ingestion.lookback_days: 120 -> 90/);
  expect(md).toMatch(/### `pipelines\/new.yaml` \(new\)\n\nResolves to `sha256:[0-9a-f]{16}`/);
  expect(md).toContain('### `pipelines/old.yaml` (removed)');
  expect(md).not.toContain('steady.yaml');
  expect(md).toContain('5 pipeline file(s): 2 changed, 1 new, 1 removed, 1 unchanged');

  // Under the production profile the development profile's change reaches nothing.
  const prod = run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'main', '--profile', 'production', '--cli', CLI]);
  expect(prod.stdout).toContain('## Pipelines against');
  expect(prod.stdout).toContain('(profile production)');
  expect(prod.stdout).not.toContain('profiled.yaml');
  expect(prod.stdout).toContain('pipelines/long.yaml` (1 change)');

  // An invalid pipeline on the branch is named, not compared; a base that is not a commit is a usage error.
  write(root, { 'pipelines/long.yaml': pipeline('long', 3).replace('top_n: 3', 'top_n: "three"') });
  const bad = run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'main', '--cli', CLI]);
  expect(bad.code).toBe(0);
  expect(bad.stdout).toMatch(/### `pipelines\/long.yaml` \(not compared\)/);
  expect(run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'nope', '--cli', CLI]).code).toBe(2);

  // A change that fixes a pipeline broken at the base: named invalid there (file@ref, no temporary path), and what it
  // resolves to now.
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'broken');
  write(root, { 'pipelines/long.yaml': pipeline('long', 3) });
  const fixed = run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'HEAD', '--cli', CLI]);
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toMatch(/### `pipelines\/long.yaml` \(not valid at [0-9a-f]+, valid now\)\n\nAt [0-9a-f]+: pipelines\/long.yaml@HEAD:\d+:\d+: error PARAM_WRONG_TYPE/);
  expect(fixed.stdout).toMatch(/Resolves now to `sha256:[0-9a-f]{16}`/);
  expect(fixed.stdout).not.toContain('fractal-plan-');
  // A CLI that cannot run at all fails the step: nothing was compared.
  const broken = run(root, process.execPath, [join(FRACTAL, 'plan-changed.mjs'), '--base', 'HEAD', '--cli', `${process.execPath} ${join(tmp, 'no-such-cli.js')}`]);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toContain('did not run');
});

test('run-scheduled: runs every pipeline, keeps going past a failure, writes the index and a summary, exits 1', () => {
  const root = join(tmp, 'sched');
  write(root, {
    'pipelines/good.yaml': pipeline('good'),
    // No synthetic coin is this liquid: the run fails (EMPTY_UNIVERSE), after the good one ran.
    'pipelines/dry.yaml': pipeline('dry').replace('seed: 3 }', 'seed: 3, min_volume_spot: 1e15 }'),
  });
  const summary = join(root, 'summary.md');
  const r = run(root, process.execPath, [join(FRACTAL, 'run-scheduled.mjs'), '--out', 'runs', '--summary', summary, '--cli', CLI, 'pipelines/dry.yaml', 'pipelines/good.yaml', 'pipelines/gone.yaml']);
  expect(r.code).toBe(1);
  // The job's log says which pipeline runs, and how each ended and how long it took.
  expect(r.stderr).toContain('pipelines/good.yaml: running…');
  expect(r.stderr).toMatch(/pipelines\/good\.yaml: succeeded in \d+\.\d s/);
  const md = readFileSync(summary, 'utf8');
  expect(md).toContain('1 of 3 succeeded.');
  // A file that is not valid (here: not there) says which error and where, not only that validate has something to say.
  expect(md).toMatch(/\| `pipelines\/gone.yaml` \| invalid \|.*\| \[FILE_NOT_FOUND\] pipelines\/gone.yaml:1:1: file not found/);
  expect(md).toMatch(/\| `pipelines\/dry.yaml` \| failed \| — \| — \| — \| — \| \d{8}T\d{6}Z-[0-9a-f]+ \| \[EMPTY_UNIVERSE\] scanner 'synthetic' found no candidates/);
  expect(md).toMatch(/\| `pipelines\/good.yaml` \| succeeded \|/);
  expect(existsSync(join(root, 'runs', 'index.html'))).toBe(true);
  expect(readFileSync(join(root, 'runs', 'index.md'), 'utf8')).toContain('# Runs (2)');
  expect(run(root, process.execPath, [join(FRACTAL, 'run-scheduled.mjs')]).code).toBe(2);
});

test('the example workflows pass actionlint; a broken copy fails it', () => {
  const lint = (glob: string) => run(repo, process.execPath, [join(repo, 'node_modules', '@tktco', 'node-actionlint', 'bin', 'node-actionlint.js'), glob]);
  const ok = lint('examples/gitops/.github/workflows/*.yml');
  expect(ok.stdout).toContain('Checking 2 workflow file(s)');
  expect(ok.code).toBe(0);
  const dir = join(tmp, 'broken', '.github', 'workflows');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(repo, 'examples', 'gitops', '.github', 'workflows', 'pipeline-check.yml'), join(dir, 'pipeline-check.yml'));
  writeFileSync(join(dir, 'pipeline-check.yml'), readFileSync(join(dir, 'pipeline-check.yml'), 'utf8').replace('timeout-minutes: 20', 'timout-minutes: 20').replace('node-version: 20', 'node-versionn: 20'));
  const bad = lint(join(dir, '*.yml'));
  expect(bad.code).toBe(1);
  expect(`${bad.stdout}${bad.stderr}`).toMatch(/timout-minutes/);
  expect(`${bad.stdout}${bad.stderr}`).toMatch(/node-versionn/);
});

test("the pull-request check's production step fails on a profile the change breaks (the check went green, every night then failed)", () => {
  const root = join(tmp, 'repo-profile');
  write(root, {
    'pipelines/long.yaml': pipeline('long'),
    'profiles/production.yaml': 'policy: { min_winnerz: 4 }\n',
  });
  mkdirSync(join(root, '.git'), { recursive: true });
  // The step's own command, as the workflow writes it.
  const workflow = readFileSync(join(repo, 'examples', 'gitops', '.github', 'workflows', 'pipeline-check.yml'), 'utf8');
  const step = /- name: Validate every pipeline under the production profile[\s\S]*?run: (.+)\n/.exec(workflow)![1]!;
  expect(step).toBe('npx pipeline-run validate --format github --profile production pipelines/');
  const args = step.replace(/^npx pipeline-run /, '').split(' ');
  const r = run(root, process.execPath, [join(repo, 'bin', 'pipeline-run.js'), ...args]);
  expect(r.code).toBe(2);
  expect(r.stdout).toMatch(/^::error file=profiles\/production\.yaml,line=1,/m);
  expect(r.stdout).toContain('min_winnerz');
  // Without the profile the same files validate: the first step alone would have passed.
  expect(run(root, process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'validate', '--format', 'github', 'pipelines/']).code).toBe(0);
});
