// Fractal from a program: check the pipelines, plan one, run it, read what it wrote. docs/api.md walks through it.
import { readFileSync } from 'node:fs';
import { plan, run, validate } from 'fractal';

const checked = await validate(['demo.yaml', 'calm.yaml']);
if (!checked.valid) {
  for (const d of checked.diagnostics) console.error(`${d.file}:${d.line}:${d.column}: ${d.code} ${d.message}`);
  process.exit(2);
}

const p = await plan('calm.yaml');
console.error(`calm: config sha256:${p.hash.slice(0, 12)}, stages ${p.config.stages.map((s) => s.type).join(' > ')}`);

for (const file of ['demo.yaml', 'calm.yaml']) {
  const r = await run(file, { out: 'runs', log: (m) => console.error(`  ${m}`) });
  if (r.outcome === 'invalid') {
    // Found by validation (diagnostics, each at file:line:col) or before anything was written (errors).
    for (const d of r.diagnostics) console.error(`${d.file}:${d.line}:${d.column}: ${d.code} ${d.message}`);
    for (const e of r.errors) console.error(`${e.code}: ${e.message}`);
    process.exit(r.exitCode);
  }
  if (r.outcome === 'failed') {
    console.error(`${file}: failed in stage ${r.summary.error.stage}: ${r.summary.error.code} ${r.summary.error.message}`);
    process.exit(r.exitCode);
  }
  const weights = JSON.parse(readFileSync(`${r.paths.folder}/weights.json`, 'utf8'));
  console.log(JSON.stringify({ file, run: r.summary.run_id, folder: r.paths.folder, report: r.paths.report, sharpe: r.metrics?.sharpe ?? null, holdings: weights.length }));
}
