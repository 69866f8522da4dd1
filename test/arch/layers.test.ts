/**
 * The layering check (`npm run arch`, scripts/check-architecture.mjs) fails on what it is there to refuse: a copy of
 * the project with a stage importing another stage, a folder cycle, an import up the layers and a module cycle
 * is refused, each under its rule, and the project as it is passes. Needs tools/lint (`npm run tools`; CI installs it).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = new URL('../..', import.meta.url).pathname;
const TOOLS = join(REPO, 'tools', 'lint', 'node_modules');
const withTools = existsSync(join(TOOLS, '.bin', 'depcruise')) ? test : test.skip;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fractal-arch-test-'));
  for (const p of ['src', 'stages', 'bin', 'bench', 'scripts', 'tsconfig.json', '.dependency-cruiser.cjs']) if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(root, p), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'tools', 'lint'), { recursive: true });
  symlinkSync(TOOLS, join(root, 'tools', 'lint', 'node_modules'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const check = () => spawnSync(process.execPath, [join(root, 'scripts', 'check-architecture.mjs')], { cwd: root, encoding: 'utf8' });

withTools('the project as it is passes', () => {
  const r = check();
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^architecture: 0 errors/m);
  expect(r.status).toBe(0);
}, 120_000);

withTools('a stage importing another, a folder cycle, an import up the layers and a module cycle each fail it', () => {
  // meta importing the allocation stage (what meta_optimize once did)
  writeFileSync(join(root, 'stages', 'meta', 'uses-allocation.ts'), "import { AllocationStage } from '../allocation/allocation.stage.js';\nexport const A = AllocationStage;\n");
  // runs ⇄ lakehouse: both in the data layer, so only the folder rule sees it
  writeFileSync(join(root, 'src', 'runs', 'reads-lakehouse.ts'), "import { openLakehouse } from '../lakehouse/index.js';\nexport const open = openLakehouse;\n");
  writeFileSync(join(root, 'src', 'lakehouse', 'writes-runs.ts'), "import { ArtifactWriter } from '../runs/artifacts.js';\nexport const W = ArtifactWriter;\n");
  // core reaching up to the runner (what core/runner.ts once was)
  writeFileSync(join(root, 'src', 'core', 'runs-pipelines.ts'), "import { runPipeline } from '../pipeline/runner.js';\nexport const run = runPipeline;\n");
  // the worker pools reaching up to the public API, and the API up to the CLI (api sits between exec and cli)
  writeFileSync(join(root, 'src', 'exec', 'uses-api.ts'), "import { run } from '../api/run.js';\nexport const r = run;\n");
  writeFileSync(join(root, 'src', 'api', 'uses-cli.ts'), "import { formatText } from '../cli/format.js';\nexport const f = formatText;\n");
  // two util modules importing each other's values (a cycle closed by a type-only import loads nothing: allowed)
  writeFileSync(join(root, 'src', 'util', 'ping.ts'), "import { pong } from './pong.js';\nexport const ping = () => pong;\n");
  writeFileSync(join(root, 'src', 'util', 'pong.ts'), "import { ping } from './ping.js';\nexport const pong = () => ping;\n");
  writeFileSync(join(root, 'src', 'util', 'tick.ts'), "import type { Tock } from './tock.js';\nexport type Tick = { tock?: Tock };\n");
  writeFileSync(join(root, 'src', 'util', 'tock.ts'), "import type { Tick } from './tick.js';\nexport type Tock = { tick?: Tick };\n");
  const r = check();
  expect(r.status).toBe(1);
  expect(r.stdout).toContain('error stages/meta/uses-allocation.ts → stages/allocation/allocation.stage.ts');
  expect(r.stdout).toMatch(/^no-cross-stage-imports \(1\)$/m);
  expect(r.stdout).toMatch(/^no-folder-cycles \(\d+\)$/m);
  expect(r.stdout).toMatch(/error src\/(runs → src\/lakehouse → src\/runs|lakehouse → src\/runs → src\/lakehouse)/);
  expect(r.stdout).toContain('error src/core/runs-pipelines.ts → src/pipeline/runner.ts');
  expect(r.stdout).toMatch(/^layer-core \(1\)$/m);
  expect(r.stdout).toContain('error src/exec/uses-api.ts → src/api/run.ts');
  expect(r.stdout).toMatch(/^layer-exec \(1\)$/m);
  expect(r.stdout).toContain('error src/api/uses-cli.ts → src/cli/format.ts');
  expect(r.stdout).toMatch(/^layer-api \(1\)$/m);
  expect(r.stdout).toMatch(/^no-module-cycles \(\d+\)$/m);
  expect(r.stdout).toMatch(/error src\/util\/(ping|pong)\.ts → src\/util\/(pong|ping)\.ts → src\/util\/(ping|pong)\.ts/);
  expect(r.stdout).not.toMatch(/tick|tock/);
}, 120_000);
