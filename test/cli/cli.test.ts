import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo } from './helpers.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-cli-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const BAD = `pipeline: selection
version: "4.0"
stages:
  - type: ingestion
    params: { scanner: lakehous }
  - type: clustering
    params: { treshold: 0.7 }
`;

describe('validate', () => {
  test('the committed pipelines are valid: exit 0', () => {
    const r = cli(['validate', 'pipelines']);
    expect(r.stderr).toMatch(/all valid, 0 errors/);
    expect(r.code).toBe(0);
    // The repository's root too: its other tools' files (tsconfig.api.json, a compose file) are not pipelines.
    const all = cli(['validate', '.']);
    expect(all.stderr).toMatch(/all valid, 0 errors/);
    expect(all.code).toBe(0);
  });

  test('text format: file:line:col: error CODE message, the source line, a caret under the node, the hint', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, BAD);
    const r = cli(['validate', f]);
    expect(r.code).toBe(2);
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => l.endsWith("error PLUGIN_UNKNOWN unknown scanner 'lakehous'"));
    expect(lines[i]).toBe(`${f}:5:24: error PLUGIN_UNKNOWN unknown scanner 'lakehous'`);
    expect(lines[i + 1]).toBe('    5 |     params: { scanner: lakehous }');
    expect(lines[i + 2]).toBe('      |                        ^^^^^^^^');
    expect(lines[i + 3]).toMatch(/hint: Did you mean 'lakehouse'\?/);
    expect(r.stdout).toContain(`${f}:7:15: error PARAM_UNKNOWN_KEY unknown key 'treshold'`);
  });

  test('json format lists every diagnostic with its location', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, BAD);
    const r = cli(['validate', '--format', 'json', f]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j.valid).toBe(false);
    expect(j.diagnostics.map((d: { code: string; line: number; column: number }) => `${d.line}:${d.column}:${d.code}`)).toEqual([
      '5:24:PLUGIN_UNKNOWN',
      '7:15:PARAM_UNKNOWN_KEY',
    ]);
    // --json, as every other command takes it, is the same report.
    const alias = cli(['validate', '--json', f]);
    expect(alias.code).toBe(2);
    expect(alias.stdout).toBe(r.stdout);
  });

  test('github format emits workflow annotations', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, BAD);
    const r = cli(['validate', '--format', 'github', f]);
    expect(r.code).toBe(2);
    const first = r.stdout.split('\n')[0];
    expect(first.startsWith(`::error file=${f},line=5,col=24,endColumn=32,title=PLUGIN_UNKNOWN::unknown scanner 'lakehous'%0ADid you mean 'lakehouse'?`)).toBe(true);
  });

  test('an empty file and a binary file get a message, not a crash', () => {
    writeFileSync(join(tmp, 'empty.yaml'), '');
    writeFileSync(join(tmp, 'blob.yaml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    const r = cli(['validate', tmp]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('blob.yaml:1:1: error FILE_BINARY');
    expect(r.stdout).toContain('empty.yaml:1:1: error FILE_EMPTY');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  test('an unknown format is a usage error (exit 2)', () => {
    expect(cli(['validate', '--format', 'xml', 'pipelines']).code).toBe(2);
  });
});

describe('a mistyped command', () => {
  test('is a usage error naming the command it meant, not a missing pipeline file (exit 2)', () => {
    for (const [typed, meant] of [['valdate', 'validate'], ['plna', 'plan'], ['tracee', 'trace']] as const) {
      const r = cli([typed, 'pipelines/']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error USAGE: unknown command '${typed}'`);
      expect(r.stderr).toContain(`Did you mean '${meant}'?`);
    }
    const json = cli(['valdate', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'USAGE', exit_code: 2 });
  });

  test('`help` of an unknown command is a usage error naming the commands (exit 2), not the general help', () => {
    for (const [typed, meant] of [['nosuch', null], ['tracee', 'trace']] as const) {
      const r = cli(['help', typed]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`error USAGE: unknown command '${typed}'\n  hint: ${meant ? `Did you mean '${meant}'? ` : ''}Commands: run, validate, plan, plugins, schema, docs, lakehouse, runs, trace, compare, worker, queue, help.`);
    }
    const json = cli(['help', 'nosuch', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'USAGE', exit_code: 2, message: "unknown command 'nosuch'" });
    // A known command's help is still its help.
    const known = cli(['help', 'trace']);
    expect(known.code).toBe(0);
    expect(known.stdout).toContain('Usage: pipeline-run trace [options] <run> <symbol>');
  });

  test('a word far from every command is still a file to run; a folder is pointed at validate', () => {
    expect(cli(['nosuch']).stderr).toContain('FILE_NOT_FOUND');
    const folder = cli(['pipelines']);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain("hint: Name a pipeline file; `pipeline-run validate pipelines` checks every pipeline file in a folder.");
  });
});

describe('run', () => {
  const fixtures = join(repo, 'test', 'runs', 'fixtures');

  test('`pipeline-run <file> --json` runs and prints a summary; the folder is complete', () => {
    const r = cli([join(fixtures, 'ok.yaml'), '--out', tmp, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.outcome).toBe('succeeded');
    expect(readdirSync(join(tmp, 'spine_ok'))).toEqual([s.run_id]);
    expect(JSON.parse(readFileSync(join(s.folder, 'manifest.json'), 'utf8')).config_hash).toBe(s.config_hash);
  });

  test('a failing stage exits 1 and leaves a folder marked failed', () => {
    const r = cli(['run', join(fixtures, 'boom.yaml'), '--out', tmp]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed in stage 'boom'/);
    // No stack trace (the plugin's frame is named in the message: `threw at stages.js:24:11`).
    expect(r.stderr).not.toMatch(/^\s+at .*\.js:\d+/m);
    expect(r.stderr).toMatch(/error PLUGIN_FAILED: plugin module \.\/stages\.js threw at stages\.js:\d+:\d+: kaboom/);
    const [only] = readdirSync(join(tmp, 'spine_boom'));
    expect(only).toMatch(/\.failed$/);
  });

  test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s during a run marks the folder failed (interrupted), says so (--json too), and ends the process by the signal', async (signal) => {
    const out = join(tmp, `sig-${signal}`);
    const child = spawn(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), join(fixtures, 'nap.yaml'), '--out', out, '--json'], { env: { ...process.env, CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, sig) => res({ code, signal: sig })));
    // Wait until the run is under way (its audit shows the nap stage started), then interrupt it.
    const deadline = Date.now() + 20000;
    for (;;) {
      const parent = join(out, 'spine_nap');
      const partial = existsSync(parent) ? readdirSync(parent, { withFileTypes: true }).find((d) => d.name.endsWith('.partial')) : undefined;
      // The folder is made before its audit file: poll until both are there (CI once read between the two).
      const audit = partial ? join(parent, partial.name, 'audit.jsonl') : undefined;
      if (audit && existsSync(audit) && readFileSync(audit, 'utf8').includes('"stage":"nap","event":"stage_started"')) break;
      if (Date.now() > deadline) throw new Error('the run never reached the nap stage');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill(signal);
    // Ended by the signal, as a shell expects of an interrupted program (it shows 128 + n), so a loop stops too.
    expect(await exited).toEqual({ code: null, signal });
    const [only] = readdirSync(join(out, 'spine_nap'));
    expect(only).toMatch(/\.failed$/);
    const m = JSON.parse(readFileSync(join(out, 'spine_nap', only, 'manifest.json'), 'utf8'));
    expect(m.error).toMatchObject({ code: 'RUN_INTERRUPTED', stage: 'nap', exit_code: 1 });
    expect(m.stages.map((x: { outcome: string }) => x.outcome)).toEqual(['succeeded', 'failed', 'skipped']);
    // The --json summary of the failed run, as a run that fails prints it; the error on stderr.
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ outcome: 'failed', folder: join(out, 'spine_nap', only), error: { code: 'RUN_INTERRUPTED', message: `interrupted by ${signal} during stage 'nap'` } });
    expect(stderr).toContain(`error RUN_INTERRUPTED: interrupted by ${signal} during stage 'nap'`);
    expect(stderr).toContain(`the failed run is in ${join(out, 'spine_nap', only)}`);
  });

  test("Ctrl-C during a meta whose sleeves run in worker threads marks the sleeves' folders too: nothing is left looking unfinished", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fractal-sig-meta-'));
    try {
      cpSync(join(fixtures, 'stages.js'), join(dir, 'stages.js'));
      // Each sleeve: a small backtest, then a nap (the sleeves are in the nap, in their worker threads, when Ctrl-C comes).
      for (const n of ['a', 'b'])
        writeFileSync(join(dir, `${n}.yaml`), `pipeline: selection\nversion: "4.0"\nname: sleeve_${n}\nplugins: [./stages.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 12, days: 200, seed: ${n === 'a' ? 1 : 2} } }, lookback_days: 60 }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 60, test_window: 20, step_size: 20, workers: 1 }\n  - type: nap\n    params: { ms: 30000 }\n`);
      writeFileSync(join(dir, 'm.yaml'), 'pipeline: meta\nversion: "4.0"\nname: sig_meta\nsleeves:\n  - { name: a, pipeline: ./a.yaml }\n  - { name: b, pipeline: ./b.yaml }\nstages:\n  - type: meta_returns\n    params: { workers: 2 }\n  - type: meta_optimize\n  - type: meta_flatten\n');
      const out = join(dir, 'runs');
      const child = spawn(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), join(dir, 'm.yaml'), '--out', out, '--no-cache'], { env: { ...process.env, CI: '1' } });
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_c, sig) => res(sig)));
      // Until both sleeves have reached their nap (their audits say so).
      const napping = () => {
        const found: string[] = [];
        const walk = (d: string) => {
          for (const e of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
            if (!e.isDirectory()) continue;
            const p = join(d, e.name);
            if (existsSync(join(p, 'audit.jsonl')) && readFileSync(join(p, 'audit.jsonl'), 'utf8').includes('"stage":"nap","event":"stage_started"')) found.push(p);
            walk(p);
          }
        };
        walk(out);
        return found.length;
      };
      const deadline = Date.now() + 60000;
      while (napping() < 2) {
        if (Date.now() > deadline) throw new Error('the sleeves never reached their nap');
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGINT');
      expect(await exited).toBe('SIGINT');
      const left: string[] = [];
      const failed: string[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          if (!e.isDirectory()) continue;
          if (e.name.endsWith('.partial')) left.push(join(d, e.name));
          if (e.name.endsWith('.failed')) failed.push(join(d, e.name));
          walk(join(d, e.name));
        }
      };
      walk(out);
      expect(left).toEqual([]);
      // The meta's folder and both sleeves', each with a FAILED that says why.
      expect(failed.length).toBe(3);
      for (const f of failed) expect(readFileSync(join(f, 'FAILED'), 'utf8')).toMatch(/^\[RUN_INTERRUPTED\] interrupted by SIGINT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('an invalid file exits 2 and writes nothing', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, BAD);
    const r = cli([f, '--out', join(tmp, 'runs')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLUGIN_UNKNOWN');
    expect(existsSync(join(tmp, 'runs'))).toBe(false);
  });

  test('--set reaches the run and an unknown --set path is refused', () => {
    const ok = cli([join(fixtures, 'ok.yaml'), '--out', tmp, '--json', '--set', 'stages.tick.label="from cli"']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(join(JSON.parse(ok.stdout).folder, 'tick.json'), 'utf8')).label).toBe('from cli');
    const bad = cli([join(fixtures, 'ok.yaml'), '--out', tmp, '--set', 'stages.tock.label=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('REF_SET_UNKNOWN_PATH');
  });
});

describe('trace', () => {
  test("follows a winner and a vetoed symbol through a run's artifacts", () => {
    const f = join(tmp, 't.yaml');
    writeFileSync(f, `pipeline: selection\nversion: "4.0"\nname: trace_me\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 30, days: 300, seed: 9 } }, lookback_days: 200 }\n  - type: feature_engineering\n  - type: inference\n  - type: clustering\n  - type: policy\n    params: { min_winners: 5 }\n  - type: synthesis\n  - type: allocation\n`);
    const run = JSON.parse(cli([f, '--out', tmp, '--json']).stdout);
    expect(run.outcome).toBe('succeeded');
    const read = (name: string) => JSON.parse(readFileSync(join(run.folder, name), 'utf8'));
    const winner = read('winners.json').winners[0].symbol as string;
    const held = (read('weights.json') as { symbol: string; weight: number }[]).find((w) => w.symbol === winner)!;
    const t = cli(['trace', run.folder, winner]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`selection  winner (${read('winners.json').winners[0].reason})`);
    expect(t.stdout).toContain(`weight     ${(held.weight * 100).toFixed(2)}% LONG`);
    const [vetoed, vs] = Object.entries(read('vetoes.json').vetoes as Record<string, { filter: string; metric: string; value: number }[]>)[0];
    const j = JSON.parse(cli(['trace', run.folder, vetoed, '--json']).stdout);
    expect(j.filters.find((x: { filter: string }) => x.filter === vs[0].filter)).toMatchObject({ verdict: 'vetoed', metric: vs[0].metric, value: vs[0].value });
    expect(j.features.momentum).toBe(read('features.json').features.momentum[read('features.json').symbols.indexOf(vetoed)]);
    const bad = cli(['trace', run.folder, 'NOPE']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SYMBOL_NOT_IN_RUN');
  });
});

describe('backtest on worker threads', () => {
  test('deciding windows on two worker threads gives the same bytes as deciding them in process', () => {
    const f = join(tmp, 'bt.yaml');
    writeFileSync(f, `pipeline: selection\nversion: "4.0"\nname: bt_threads\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 20, days: 260, seed: 3 } } }\n  - type: feature_engineering\n  - type: inference\n  - type: clustering\n  - type: policy\n    params: { min_winners: 5 }\n  - type: synthesis\n  - type: allocation\n  - type: backtest\n    params: { train_window: 120, test_window: 20, step_size: 20 }\n`);
    const a = JSON.parse(cli([f, '--out', tmp, '--json', '--set', 'stages.backtest.workers=2']).stdout);
    const b = JSON.parse(cli([f, '--out', tmp, '--json', '--set', 'stages.backtest.workers=1']).stdout);
    expect(a.outcome).toBe('succeeded');
    expect(b.outcome).toBe('succeeded');
    for (const name of ['returns.arrow', 'weights.arrow', 'weights.json']) expect(readFileSync(join(a.folder, name))).toEqual(readFileSync(join(b.folder, name)));
    expect(a.data_hash).toBe(b.data_hash);
    expect(JSON.parse(readFileSync(join(a.folder, 'metrics.json'), 'utf8')).backtest.windows).toBe(7);
  });
});

describe('meta sleeves on worker threads', () => {
  test('sleeves run in parallel give the same weights as sleeves run in turn; a rerun hits the cache', () => {
    const lh = join(tmp, 'lh');
    expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '30', '--days', '420', '--lakehouse', lh]).code).toBe(0);
    const meta = join(repo, 'pipelines', 'crypto_meta.yaml');
    const a = JSON.parse(cli([meta, '--lakehouse', lh, '--out', join(tmp, 'a'), '--json']).stdout);
    const b = JSON.parse(cli([meta, '--lakehouse', lh, '--out', join(tmp, 'b'), '--json', '--set', 'stages.meta_returns.workers=1']).stdout);
    expect(a.outcome).toBe('succeeded');
    expect(b.outcome).toBe('succeeded');
    expect(readFileSync(join(a.folder, 'weights.json'))).toEqual(readFileSync(join(b.folder, 'weights.json')));
    const again = JSON.parse(cli([meta, '--lakehouse', lh, '--out', join(tmp, 'a'), '--json']).stdout);
    expect(readFileSync(join(again.folder, 'audit.jsonl'), 'utf8')).toContain('"event":"sleeve_cache_hit"');
    expect(readFileSync(join(again.folder, 'weights.json'))).toEqual(readFileSync(join(a.folder, 'weights.json')));
    // trace on a meta run: the flattened weight, its sleeve contributions, and the path inside each sleeve.
    const held = (JSON.parse(readFileSync(join(a.folder, 'weights.json'), 'utf8')) as { symbol: string; weight: number; sleeves: Record<string, number> }[])[0];
    const t = JSON.parse(cli(['trace', a.folder, held.symbol, '--json']).stdout);
    expect(t.meta.weight).toBe(held.weight);
    expect(t.meta.contributions).toEqual(held.sleeves);
    const inside = t.meta.sleeves.find((x: { sleeve: string }) => x.sleeve === Object.keys(held.sleeves)[0]);
    expect(inside.trace.symbol).toBe(held.symbol);
    expect(inside.trace.discovery.candidate.symbol).toBe(held.symbol);
  });
});

describe('runs', () => {
  test('writes index.md and index.html listing every finished run, newest first, failed ones marked', () => {
    const fixtures = join(repo, 'test', 'runs', 'fixtures');
    const ok = JSON.parse(cli([join(fixtures, 'ok.yaml'), '--out', tmp, '--json']).stdout);
    const bad = JSON.parse(cli([join(fixtures, 'boom.yaml'), '--out', tmp, '--json']).stdout);
    const r = cli(['runs', '--out', tmp]);
    expect(r.code).toBe(0);
    const md = readFileSync(join(tmp, 'index.md'), 'utf8');
    expect(md).toContain('# Runs (2)');
    const lines = md.split('\n').filter((l) => l.startsWith('| spine_'));
    expect(lines[0]).toContain(bad.run_id);
    expect(lines[0]).toContain('| failed |');
    expect(lines[1]).toContain(`[${ok.run_id}](spine_ok/${ok.run_id}/report.html)`);
    expect(readFileSync(join(tmp, 'index.html'), 'utf8')).toContain(`href="spine_ok/${ok.run_id}/report.html"`);
    expect(cli(['runs', '--out', join(tmp, 'nope')]).code).toBe(2);
  });

  test('the index names the profile each run was composed with (research and production runs of one pipeline side by side)', () => {
    const dir = join(tmp, 'profiled');
    mkdirSync(join(dir, 'profiles'), { recursive: true });
    const fixtures = join(repo, 'test', 'runs', 'fixtures');
    for (const f of ['ok.yaml', 'stages.js']) copyFileSync(join(fixtures, f), join(dir, f));
    writeFileSync(join(dir, 'profiles', 'research.yaml'), 'tick: { label: research }\n');
    const out = join(tmp, 'profiled-runs');
    const plain = JSON.parse(cli([join(dir, 'ok.yaml'), '--out', out, '--json']).stdout);
    const profiled = JSON.parse(cli([join(dir, 'ok.yaml'), '--profile', 'research', '--out', out, '--json']).stdout);
    expect(cli(['runs', '--out', out]).code).toBe(0);
    const md = readFileSync(join(out, 'index.md'), 'utf8');
    expect(md).toContain('| pipeline | run | outcome | profile |');
    const row = (id: string) => md.split('\n').find((l) => l.startsWith(`| spine_ok | [${id}]`));
    expect(row(profiled.run_id)).toContain('| succeeded | research |');
    expect(row(plain.run_id)).toContain('| succeeded |  |');
    const json = JSON.parse(cli(['runs', '--out', out, '--json']).stdout);
    const rows = Array.isArray(json) ? json : json.rows;
    expect(Object.fromEntries(rows.map((r: { run_id: string; profile: string | null }) => [r.run_id, r.profile]))).toEqual({ [plain.run_id]: null, [profiled.run_id]: 'research' });
  });
});

describe('plan, plugins, schema', () => {
  test('plan prints the resolved config and its hash; --diff shows what changed', () => {
    const a = join(tmp, 'a.yaml');
    const b = join(tmp, 'b.yaml');
    writeFileSync(a, 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: clustering\n    params: { threshold: 0.7 }\n');
    writeFileSync(b, 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: clustering\n    params: { threshold: 0.5, max_clusters: 10 }\n');
    // clustering alone needs returns: the graph layer refuses it; plan refuses invalid files with exit 2.
    const invalid = cli(['plan', a]);
    expect(invalid.code).toBe(2);
    // The located diagnostics and one closing line, as `run` says it; no second error sending the reader to validate.
    expect(invalid.stderr).toContain('error GRAPH_MISSING_INPUT');
    expect(invalid.stderr).toContain(`${a} is not valid; nothing planned.`);
    expect(invalid.stderr).not.toContain('CONFIG_INVALID');
    expect(JSON.parse(cli(['plan', a, '--json']).stdout)).toMatchObject({ valid: false, diagnostics: [expect.objectContaining({ code: 'GRAPH_MISSING_INPUT' })] });
    const head = 'pipeline: selection\nversion: "4.0"\nname: p\nstages:\n  - type: ingestion\n';
    writeFileSync(a, `${head}  - type: clustering\n    params: { threshold: 0.7 }\n`);
    writeFileSync(b, `${head}  - type: clustering\n    params: { threshold: 0.5, max_clusters: 10 }\n`);
    const plan = cli(['plan', a]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^# config hash: sha256:[0-9a-f]{64}\n/);
    expect(plan.stdout).toContain('threshold: 0.7');
    expect(plan.stdout).toContain('lookbacks:'); // defaults are explicit in the resolved config
    const diff = cli(['plan', b, '--diff', a]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('~ stages.clustering.threshold: 0.7 -> 0.5');
    expect(diff.stdout).toContain('~ stages.clustering.max_clusters: 25 -> 10');
  });

  test('plugins lists every plugin with params and defaults', () => {
    const r = cli(['plugins', '--kind', 'ranker']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rankers:\n {2}mps/);
    expect(r.stdout).toContain('regime');
    expect(r.stdout).toContain('(alias strategy_regime, deprecated)');
    const j = JSON.parse(cli(['plugins', '--json']).stdout);
    expect(j.find((m: { kind: string; name: string }) => m.kind === 'stage' && m.name === 'clustering').params.properties.threshold.default).toBe(0.7);
    expect(cli(['plugins', '--kind', 'rankers']).code).toBe(2);
  });

  test("plugins <pipeline> lists the pipeline's own plugin modules beside the built-ins, saying where each comes from", () => {
    const file = join(repo, 'examples', 'api', 'calm.yaml');
    const r = cli(['plugins', file, '--kind', 'ranker']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}calm \(from plugin module \.\/plugins\/calm\.ranker\.js\): /m);
    expect(r.stdout).toMatch(/^ {6}scale: number = 1 /m);
    expect(r.stdout).toMatch(/^ {2}mps: /m); // the built-ins, untagged
    const j = JSON.parse(cli(['plugins', file, '--json']).stdout) as { kind: string; name: string; origin: string }[];
    expect(j.find((m) => m.name === 'calm')).toMatchObject({ kind: 'ranker', origin: 'plugin module ./plugins/calm.ranker.js' });
    expect(j.find((m) => m.name === 'mps')?.origin).toBe('built-in rankers');
    // Without the file, the pipeline's module is not known.
    expect(cli(['plugins', '--kind', 'ranker']).stdout).not.toContain('calm');
    // A module that cannot load is the file's error, as validate gives it.
    const broken = join(tmp, 'broken-plugins.yaml');
    writeFileSync(join(tmp, 'bad.ranker.js'), 'export default class {\n');
    writeFileSync(broken, 'pipeline: selection\nversion: "4.0"\nplugins: [./bad.ranker.js]\nstages:\n  - type: ingestion\n');
    const b = cli(['plugins', broken]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('REF_PLUGIN_MODULE_INVALID');
    expect(b.stderr).toContain('error CONFIG_INVALID');
    // So is a file that is not there, or not YAML: not an empty list of modules.
    for (const bad of [join(tmp, 'nosuch.yaml'), (writeFileSync(join(tmp, 'notyaml.yaml'), 'plugins: [./x.js\nstages: ]'), join(tmp, 'notyaml.yaml'))]) {
      const n = cli(['plugins', bad]);
      expect(n.code).toBe(2);
      expect(n.stderr).toContain('error CONFIG_INVALID');
    }
  });

  test('schema --check passes on the committed schemas and fails when one drifts', () => {
    expect(cli(['schema', '--check']).code).toBe(0);
    cpSync(join(repo, 'schemas'), join(tmp, 'schemas'), { recursive: true });
    const f = join(tmp, 'schemas', 'pipeline.schema.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"threshold"', '"treshold"'));
    const r = cli(['schema', '--check', '--out', join(tmp, 'schemas')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pipeline.schema.json');
  });
});
