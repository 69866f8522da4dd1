/**
 * Benchmark: the selection funnel on 1000 symbols × 500 days (a seeded synthetic lakehouse), through the real
 * runner: ingestion → features → inference → clustering → policy → synthesis → allocation. Prints each stage's
 * time. Run: `npm run build && node dist/bench/funnel.js [symbols] [days]` (or `npm run bench -- --only funnel`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../src/config/validate.js';
import { runPipeline } from '../src/pipeline/runner.js';
import { workerExecutors } from '../src/exec/executors.js';
import { openLakehouse } from '../src/lakehouse/index.js';
import { builtinRegistry } from '../stages/index.js';

const symbols = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'fractal-bench-funnel-'));
try {
  const t0 = performance.now();
  const lh = await openLakehouse(join(dir, 'lakehouse'), { create: true });
  await lh.seedSynthetic({ symbols, days, seed: 1 });
  const seeded = performance.now() - t0;
  const file = join(dir, 'funnel.yaml');
  writeFileSync(
    file,
    `pipeline: selection
version: "4.0"
name: bench_funnel
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0, limit: ${symbols} } }, lookback_days: ${days} }
  - type: feature_engineering
  - type: inference
  - type: clustering
  - type: policy
  - type: synthesis
  - type: allocation
    params: { engine: hrp }
`,
  );
  const v = await validateFile(file, { registry: builtinRegistry() });
  if (!v.ok) throw new Error(JSON.stringify(v.diagnostics));
  const s = await runPipeline(v, { outRoot: join(dir, 'runs'), lakehousePath: join(dir, 'lakehouse'), executors: workerExecutors });
  if (s.outcome !== 'succeeded') throw new Error(s.error?.message);
  console.log(`funnel on ${symbols} symbols × ${days} days (seeding the lakehouse took ${(seeded / 1000).toFixed(1)} s)`);
  for (const st of s.stages) console.log(`  ${st.type.padEnd(20)} ${String(st.ms).padStart(8)} ms`);
  const total = s.stages.reduce((a, st) => a + (st.ms ?? 0), 0);
  console.log(`  ${'total'.padEnd(20)} ${total.toFixed(0).padStart(8)} ms   (run with artifacts: ${s.duration_ms} ms; peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
