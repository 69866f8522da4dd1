/**
 * OpenTelemetry traces of a run (src/util/tracing.ts): with the SDK's InMemorySpanExporter, a traced run's spans form
 * one tree (one trace, one root, every parent present) whose stage spans are the manifest's stages with its timings;
 * backtest window batches and meta sleeves made on worker threads join the same tree through the context carried in
 * the worker's job; the OTLP exporter posts the same tree to the endpoint the OTEL_* environment names; with tracing
 * off the SDK is never loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { repo } from '../cli/helpers.js';

// The built API (dist/): its worker pools run the compiled workers, as an installed Fractal does.
type Api = typeof import('../../src/api/index.js');
let api: Api;
let tmp: string;
beforeAll(async () => {
  api = (await import(join(repo, 'dist', 'src', 'api', 'index.js'))) as Api;
  tmp = mkdtempSync(join(tmpdir(), 'fractal-trace-'));
});
afterAll(async () => {
  const { stopTracing } = await import(join(repo, 'dist', 'src', 'util', 'tracing.js'));
  await stopTracing();
  rmSync(tmp, { recursive: true, force: true });
});

const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** The spans as one tree: one trace id, one root, every parent among the spans. Returns the root and children by id. */
function tree(spans: ReadableSpan[]) {
  expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const roots = spans.filter((s) => !parentOf(s));
  expect(roots.map((s) => s.name)).toEqual(['pipeline-run']);
  expect(spans.filter((s) => parentOf(s) && !ids.has(parentOf(s)!)).map((s) => s.name)).toEqual([]);
  const children = new Map<string, ReadableSpan[]>();
  for (const s of spans) if (parentOf(s)) children.set(parentOf(s)!, [...(children.get(parentOf(s)!) ?? []), s]);
  const kids = (s: ReadableSpan) => (children.get(s.spanContext().spanId) ?? []).sort((a, b) => ms(a.startTime) - ms(b.startTime));
  return { root: roots[0], kids };
}

test('a traced run is one tree: validate, preflight, the run, its stages with the manifest timings, the backtest windows', async () => {
  const exporter = new InMemorySpanExporter();
  const r = await api.run(join(repo, 'pipelines', 'demo.yaml'), { out: join(tmp, 'runs'), workers: false, trace: { exporter } });
  if (r.outcome !== 'succeeded') throw new Error(`run ${r.outcome}`);
  const spans = exporter.getFinishedSpans();
  const { root, kids } = tree(spans);
  expect(root.attributes).toMatchObject({ 'fractal.outcome': 'succeeded', 'fractal.run_id': r.summary.run_id });
  expect(kids(root).map((s) => s.name)).toEqual(['validate', 'preflight', 'run demo']);
  const runSpan = kids(root)[2];
  expect(runSpan.attributes).toMatchObject({ 'fractal.run_id': r.summary.run_id, 'fractal.config_hash': r.summary.config_hash, 'fractal.data_hash': r.summary.data_hash, 'fractal.outcome': 'succeeded', 'fractal.pipeline.kind': 'selection' });
  const manifest = JSON.parse(readFileSync(r.paths.manifest, 'utf8'));
  const stages = kids(runSpan);
  expect(stages.map((s) => s.name)).toEqual(manifest.stages.map((s: { type: string }) => `stage ${s.type}`));
  stages.forEach((s, i) => {
    // The span is exactly the interval the manifest times (the manifest rounds to 0.1 ms; the span's times are whole
    // nanoseconds, so it may differ by that rounding and a few nanoseconds more, never by a microsecond).
    expect(Math.abs(ms(s.duration as [number, number]) - manifest.stages[i].ms)).toBeLessThanOrEqual(0.05 + 1e-5);
    expect(s.attributes['fractal.stage.ms']).toBe(manifest.stages[i].ms);
    expect(s.attributes['fractal.stage.index']).toBe(i);
  });
  // Stages run one after the other inside the run.
  for (let i = 1; i < stages.length; i++) expect(ms(stages[i].startTime as [number, number])).toBeGreaterThanOrEqual(ms(stages[i - 1].endTime as [number, number]));
  const byName = Object.fromEntries(stages.map((s) => [s.name, s]));
  const candidates = JSON.parse(readFileSync(join(r.paths.folder, 'candidates.json'), 'utf8')).candidates.length;
  expect(byName['stage ingestion'].attributes['fractal.symbols']).toBe(candidates);
  expect(byName['stage allocation'].attributes['fractal.engine']).toBe(JSON.parse(readFileSync(join(r.paths.folder, 'metrics.json'), 'utf8')).allocation.engine);
  const windows = JSON.parse(readFileSync(join(r.paths.folder, 'metrics.json'), 'utf8')).backtest.windows;
  // The backtest replays its decisions in one call or more (it may time the first before choosing threads): every
  // call is a `backtest windows` span with its batch, and together they hold every decision once, one per window and
  // the final as-of decision.
  const bt = kids(byName['stage backtest']);
  expect(new Set(bt.map((s) => s.name))).toEqual(new Set(['backtest windows']));
  expect(bt.reduce((n, s) => n + (s.attributes['fractal.decisions'] as number), 0)).toBe(windows + 1);
  for (const w of bt) expect(kids(w).map((s) => [s.name, s.attributes['fractal.decisions']])).toEqual([['backtest batch', w.attributes['fractal.decisions']]]);
  expect(byName['stage backtest'].attributes['fractal.windows']).toBe(windows);
}, 120_000);

test('on worker threads: each backtest batch and each meta sleeve is a span of the same tree, its context carried in the job', async () => {
  const sleeve = (seed: number, direction: string) => `pipeline: selection
version: "4.0"
name: s${seed}
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 24, days: 420, seed: ${seed} } }, lookback_days: 200 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: clustering
  - type: policy
    params: { filters: [darwinian], top_n: 2, min_winners: 4 }
  - type: synthesis
    params: { direction: ${direction} }
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30, workers: 2 }
`;
  writeFileSync(join(tmp, 'a.yaml'), sleeve(1, 'LONG'));
  writeFileSync(join(tmp, 'b.yaml'), sleeve(2, 'LONG'));
  writeFileSync(join(tmp, 'meta.yaml'), `pipeline: meta
version: "4.0"
name: traced_meta
sleeves:
  - { name: a, pipeline: ./a.yaml }
  - { name: b, pipeline: ./b.yaml }
stages:
  - type: meta_returns
    params: { workers: 2 }
  - type: meta_optimize
    params: { engine: equal_weight, train_window: 60, test_window: 30, step_size: 30 }
  - type: meta_flatten
`);
  const exporter = new InMemorySpanExporter();
  const r = await api.run(join(tmp, 'meta.yaml'), { out: join(tmp, 'meta-runs'), cache: false, trace: { exporter } });
  if (r.outcome !== 'succeeded') throw new Error(`run ${r.outcome}: ${JSON.stringify(r.outcome === 'invalid' ? r.errors : r.summary.error)}`);
  const spans = exporter.getFinishedSpans();
  const { root, kids } = tree(spans);
  const metaRun = kids(root).find((s) => s.name === 'run traced_meta')!;
  const returnsStage = kids(metaRun).find((s) => s.name === 'stage meta_returns')!;
  // The sleeves ran on worker threads: their spans came back through the pool and hang under the stage that ran them.
  const sleeves = kids(returnsStage);
  expect(sleeves.map((s) => s.name).sort()).toEqual(['sleeve a', 'sleeve b']);
  for (const s of sleeves) {
    expect(s.attributes['fractal.worker']).toBe(true);
    const childRun = kids(s);
    expect(childRun.map((x) => x.name)).toEqual([`run s${s.name === 'sleeve a' ? 1 : 2}`]);
    expect(childRun[0].attributes['fractal.child_run']).toBe(true);
    // Inside a worker the sleeve's windows are one batch in that worker (no pools in pools).
    const backtest = kids(childRun[0]).find((x) => x.name === 'stage backtest')!;
    expect(kids(kids(backtest)[0]).map((x) => x.name)).toEqual(['backtest batch']);
  }
  const sleeveRuns = JSON.parse(readFileSync(r.paths.manifest, 'utf8'));
  expect(sleeveRuns.outcome).toBe('succeeded');
}, 240_000);

test("on worker threads: the backtest's decisions in two batches under the windows span, handed out before the backtest's stage began, the first decided in the run's thread, the second a worker's", async () => {
  // The pool never waits for a worker still starting (the run's thread takes its dates over): the run's thread waits
  // here for the worker's first decision (test/exec/fixtures/thread-plugins.js), so that the worker has a batch.
  const dir = mkdtempSync(join(tmp, 'workers-'));
  copyFileSync(join(repo, 'test', 'exec', 'fixtures', 'thread-plugins.js'), join(dir, 'plugins.js'));
  const symbols = ['AAA', 'BBB', 'CCC'];
  const rows = Array.from({ length: 101 }, (_, t) => [new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10), ...symbols.map((_, j) => (100 * (1 + 0.01 * Math.sin(t * (j + 1)))).toFixed(6))].join(','));
  const csv = join(dir, 'closes.csv');
  writeFileSync(csv, `${['date', ...symbols].join(',')}\n${rows.join('\n')}\n`);
  const file = join(dir, 'traced_workers.yaml');
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: traced_workers\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } } }\n  - type: thread_record\n    params: ${JSON.stringify({ record: join(dir, 'record.jsonl'), wait_for_workers: 1 })}\n  - type: backtest\n    params: { train_window: 20, test_window: 5, step_size: 5, workers: 2 }\n`,
  );
  const exporter = new InMemorySpanExporter();
  const r = await api.run(file, { out: join(tmp, 'runs'), dataRoot: [dir], trace: { exporter } });
  if (r.outcome !== 'succeeded') throw new Error(`run ${r.outcome}`);
  const { root, kids } = tree(exporter.getFinishedSpans());
  const run = kids(root).find((s) => s.name === 'run traced_workers')!;
  // The backtest's dates go to the workers once ingestion has run, before the backtest's stage begins: the windows
  // span is the run's child, started before the stage's span and ended inside it (the stage takes its outcomes).
  const stage = kids(run).find((s) => s.name === 'stage backtest')!;
  expect(kids(stage)).toEqual([]);
  const windows = kids(run).find((s) => s.name === 'backtest windows')!;
  expect(windows.attributes['fractal.early']).toBe(true);
  expect(windows.attributes['fractal.threads']).toBe(2);
  expect(ms(windows.startTime as [number, number])).toBeLessThan(ms(stage.startTime as [number, number]));
  expect(ms(windows.endTime as [number, number])).toBeLessThanOrEqual(ms(stage.endTime as [number, number]));
  // The batches run together: order them by their dates, not their start times.
  const batches = kids(windows).sort((a, b) => String(a.attributes['fractal.decisions.first']).localeCompare(String(b.attributes['fractal.decisions.first'])));
  expect(batches.map((b) => [b.name, b.attributes['fractal.worker']])).toEqual([['backtest batch', undefined], ['backtest batch', true]]);
  // Every decision once between them. A thread done with its block takes over dates of the other's: each batch
  // says how many of its decisions it took over.
  const decisions = batches.map((b) => b.attributes['fractal.decisions'] as number);
  expect(decisions[0] + decisions[1]).toBe(windows.attributes['fractal.decisions']);
  for (const b of batches) expect(b.attributes['fractal.decisions.stolen']).toBeLessThan(b.attributes['fractal.decisions'] as number);
  // Worker spans lie inside their parent's interval (to 1 ms: each thread reads the clock from its own time
  // origin, and a worker's batch can end a fraction of a millisecond before the windows span does).
  for (const b of batches) {
    expect(ms(b.startTime as [number, number])).toBeGreaterThanOrEqual(ms(windows.startTime as [number, number]) - 1);
    expect(ms(b.endTime as [number, number])).toBeLessThanOrEqual(ms(windows.endTime as [number, number]) + 1);
  }
}, 120_000);

test("a program's own tracer provider gets the spans made on worker threads too, in the run's tree", () => {
  // A program that set up OpenTelemetry itself (no `trace` option, so Fractal starts no SDK of its own): its provider
  // gets the run's spans, and the sleeves' (made on worker threads and handed back) are made again in it under the
  // stage that ran them. With a provider registered whole (propagator included), one set without a propagator, and
  // a registered one while the run also asks for tracing.
  const dir = mkdtempSync(join(tmp, 'own-provider-'));
  const sleeve = (name: string, seed: number) => `pipeline: selection\nversion: "4.0"\nname: ${name}\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 24, days: 420, seed: ${seed} } }, lookback_days: 200 }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 120, test_window: 30, step_size: 30 }\n`;
  writeFileSync(join(dir, 'a.yaml'), sleeve('own_a', 1));
  writeFileSync(join(dir, 'b.yaml'), sleeve('own_b', 2));
  writeFileSync(join(dir, 'meta.yaml'), 'pipeline: meta\nversion: "4.0"\nname: own_meta\nsleeves:\n  - { name: a, pipeline: ./a.yaml }\n  - { name: b, pipeline: ./b.yaml }\nstages:\n  - type: meta_returns\n    params: { workers: 2 }\n  - type: meta_optimize\n    params: { engine: equal_weight, train_window: 60, test_window: 30, step_size: 30 }\n  - type: meta_flatten\n');
  writeFileSync(
    join(dir, 'program.mjs'),
    `import { createRequire } from 'node:module';
import { join } from 'node:path';
const [repo, file, out, mode] = process.argv.slice(2);
const require = createRequire(join(repo, 'package.json'));
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const otel = require('@opentelemetry/api');
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
if (mode !== 'no-propagator') provider.register();
else {
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.trace.setGlobalTracerProvider(provider);
}
const api = await import(join(repo, 'dist', 'src', 'api', 'index.js'));
const r = await api.run(file, { out, cache: false, ...(mode === 'register-and-trace' ? { trace: true } : {}) });
if (mode === 'register') {
  // Spans handed back whose parent ids loop (bad input, or ids that collide) are made once each, not forever.
  const { adoptSpans } = await import(join(repo, 'dist', 'src', 'util', 'tracing.js'));
  const plain = (name, id, parent) => ({ name, kind: 0, traceId: '1'.repeat(32), spanId: id, parentSpanId: parent, traceFlags: 1, startTime: [1, 0], endTime: [2, 0], duration: [1, 0], status: { code: 0 }, attributes: {}, events: [] });
  adoptSpans([plain('loop a', 'a'.repeat(16), 'b'.repeat(16)), plain('loop b', 'b'.repeat(16), 'a'.repeat(16)), plain('self', 'c'.repeat(16), 'c'.repeat(16))]);
}
await provider.forceFlush();
const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, trace: s.spanContext().traceId, id: s.spanContext().spanId, parent: s.parentSpanContext?.spanId ?? null, worker: s.attributes['fractal.worker'] ?? null }));
console.log(JSON.stringify({ outcome: r.outcome, spans }));
`,
  );
  // 'register-and-trace': the run asks for tracing too (Fractal's SDK starts, but the program's provider stays the
  // registered one): every span still goes to the program's provider (found by review: the sleeves went to
  // Fractal's exporters instead, splitting the tree).
  for (const mode of ['register', 'no-propagator', 'register-and-trace']) {
    const p = spawnSync(process.execPath, [join(dir, 'program.mjs'), repo, join(dir, 'meta.yaml'), join(dir, `runs-${mode}`), mode], { encoding: 'utf8', env: { ...process.env, OTEL_TRACES_EXPORTER: mode === 'register-and-trace' ? 'none' : '' } });
    expect({ mode, code: p.status, stderr: p.stderr.split('\n').filter((l) => /error/i.test(l)) }).toEqual({ mode, code: 0, stderr: [] });
    const parsed = JSON.parse(p.stdout) as { outcome: string; spans: { name: string; trace: string; id: string; parent: string | null; worker: boolean | null }[] };
    const loops = parsed.spans.filter((x) => ['loop a', 'loop b', 'self'].includes(x.name));
    expect(loops.map((x) => x.name).sort()).toEqual(mode === 'register' ? ['loop a', 'loop b', 'self'] : []);
    const out = { ...parsed, spans: parsed.spans.filter((x) => !loops.includes(x)) };
    expect(out.outcome).toBe('succeeded');
    const byId = new Map(out.spans.map((x) => [x.id, x]));
    const parentName = (x: { parent: string | null }) => (x.parent ? (byId.get(x.parent)?.name ?? 'MISSING') : null);
    // One trace, one root, every parent present.
    expect({ mode, traces: new Set(out.spans.map((x) => x.trace)).size, roots: out.spans.filter((x) => !x.parent).map((x) => x.name), orphans: out.spans.filter((x) => parentName(x) === 'MISSING').map((x) => x.name) }).toEqual({ mode, traces: 1, roots: [mode === 'register-and-trace' ? 'pipeline-run' : 'run own_meta'], orphans: [] });
    const sleeves = out.spans.filter((x) => x.name.startsWith('sleeve '));
    expect(sleeves.map((x) => [x.name, x.worker, parentName(x)]).sort()).toEqual([['sleeve a', true, 'stage meta_returns'], ['sleeve b', true, 'stage meta_returns']]);
    for (const x of sleeves) {
      const run = out.spans.filter((y) => y.parent === x.id);
      expect(run.map((y) => y.name)).toEqual([x.name === 'sleeve a' ? 'run own_a' : 'run own_b']);
      expect(out.spans.filter((y) => y.parent === run[0]!.id).map((y) => y.name).sort()).toEqual(['stage allocation', 'stage backtest', 'stage ingestion']);
    }
    // The sleeves' backtest batches (made in the worker that ran the sleeve) under their windows.
    const batches = out.spans.filter((x) => x.name === 'backtest batch');
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect([...new Set(batches.map(parentName))]).toEqual(['backtest windows']);
  }
}, 120_000);

test('the OTLP exporter posts the tree to the endpoint the OTEL_* environment names (the CLI with --trace)', async () => {
  const bodies: { url: string; body: { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[] }[] } }[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', body: JSON.parse(data) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  try {
    const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => {
      const p = spawn(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'run', join(repo, 'pipelines', 'demo.yaml'), '--out', join(tmp, 'otlp'), '--json', '--trace'], {
        env: { ...process.env, CI: '1', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'fractal-test', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => ok({ code, stdout, stderr }));
    });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    const summary = JSON.parse(child.stdout);
    expect(bodies.every((b) => b.url === '/v1/traces')).toBe(true);
    const resourceSpans = bodies.flatMap((b) => b.body.resourceSpans);
    const service = resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
    expect(service).toBe('fractal-test');
    const spans = resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual(['pipeline-run']);
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId))).toEqual([]);
    expect(spans.filter((s) => s.name.startsWith('stage ')).map((s) => s.name)).toEqual(summary.stages.map((s: { type: string }) => `stage ${s.type}`));
  } finally {
    server.close();
  }
}, 120_000);

test('off by default: a run loads no OpenTelemetry module at all (no API, no SDK)', () => {
  const hook = join(tmp, 'hook.mjs');
  writeFileSync(hook, "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('@opentelemetry')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n");
  writeFileSync(join(tmp, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.OTEL_TRACES_EXPORTER;
  const r = spawnSync(process.execPath, ['--import', join(tmp, 'register.mjs'), join(repo, 'bin', 'pipeline-run.js'), 'run', join(repo, 'pipelines', 'demo.yaml'), '--out', join(tmp, 'off'), '--quiet'], { encoding: 'utf8', env });
  expect(r.status).toBe(0);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('LOADED '))).toEqual([]);
  // And `--version` loads none of it.
  const v = spawnSync(process.execPath, ['--import', join(tmp, 'register.mjs'), join(repo, 'bin', 'pipeline-run.js'), '--version'], { encoding: 'utf8', env });
  expect(v.stderr).not.toContain('LOADED');
}, 120_000);

test('in one long-lived process, each run\'s exporter gets that run\'s trace once, and a run asked without tracing reaches none (found by an API walkthrough)', async () => {
  const file = join(repo, 'test', 'runs', 'fixtures', 'ok.yaml');
  const a = new InMemorySpanExporter();
  const b = new InMemorySpanExporter();
  const first = await api.run(file, { out: join(tmp, 'runs-many'), workers: false, trace: { exporter: a } });
  const once = a.getFinishedSpans().length;
  expect(once).toBeGreaterThan(3);
  tree(a.getFinishedSpans());
  // The same exporter again: its second run's spans once, not twice; the first run's still there.
  await api.run(file, { out: join(tmp, 'runs-many'), workers: false, trace: { exporter: a } });
  expect(a.getFinishedSpans().length).toBe(2 * once);
  expect(new Set(a.getFinishedSpans().map((s) => s.spanContext().traceId)).size).toBe(2);
  // Another exporter: the first no longer hears of later runs.
  await api.run(file, { out: join(tmp, 'runs-many'), workers: false, trace: { exporter: b } });
  expect(b.getFinishedSpans().length).toBe(once);
  expect(a.getFinishedSpans().length).toBe(2 * once);
  // Without tracing (off by default, or false): nothing anywhere, although the SDK is running in this process.
  await api.run(file, { out: join(tmp, 'runs-many'), workers: false });
  await api.run(file, { out: join(tmp, 'runs-many'), workers: false, trace: false });
  expect([a.getFinishedSpans().length, b.getFinishedSpans().length]).toEqual([2 * once, once]);
  // OTEL_SDK_DISABLED=true: off whatever else says, an exporter given included.
  const c = new InMemorySpanExporter();
  process.env.OTEL_SDK_DISABLED = 'true';
  try {
    await api.run(file, { out: join(tmp, 'runs-many'), workers: false, trace: { exporter: c } });
  } finally {
    delete process.env.OTEL_SDK_DISABLED;
  }
  expect([a.getFinishedSpans().length, b.getFinishedSpans().length, c.getFinishedSpans().length]).toEqual([2 * once, once, 0]);
  expect(first.outcome).toBe('succeeded');
});

test('an exporter that is not one is refused, not ignored', async () => {
  await expect(api.run(join(repo, 'test', 'runs', 'fixtures', 'ok.yaml'), { out: join(tmp, 'runs-bad'), workers: false, trace: { exporter: {} } })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('trace.exporter is not an OpenTelemetry SpanExporter') });
});

test('a collector that refuses the spans never fails the run: one line says so, how long the retries took and what bounds them', async () => {
  // A port nobody listens on (taken, then let go).
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), 'run', join(repo, 'test', 'runs', 'fixtures', 'ok.yaml'), '--out', join(tmp, 'refused'), '--trace', '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '500', OTEL_TRACES_EXPORTER: 'otlp' },
  });
  expect(r.status).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('tracing:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tracing: spans not exported: .*ECONNREFUSED.* \(after \d+\.\d s of retries; OTEL_EXPORTER_OTLP_TIMEOUT, in ms, bounds the wait\)$/);
});
