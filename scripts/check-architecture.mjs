// The layering check (docs/architecture.md#layers): dependency-cruiser over src, stages, bin and bench with
// .dependency-cruiser.cjs. Reads its JSON summary, because its exit code is the number of errors (256 wraps to 0).
// Exit 0 when nothing is violated, 1 when something is, 2 when the check could not run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tools = join(root, 'tools', 'lint', 'node_modules');
const depcruise = join(tools, '.bin', 'depcruise');
if (!existsSync(depcruise) || !existsSync(join(tools, 'typescript'))) {
  console.error('check-architecture: tools/lint is not installed; run `npm ci --prefix tools/lint`');
  process.exit(2);
}
const targets = ['src', 'stages', 'bin', 'bench'].filter((d) => existsSync(join(root, d)));
const dir = mkdtempSync(join(tmpdir(), 'fractal-arch-'));
let result;
try {
  const out = join(dir, 'cruise.json');
  try {
    execFileSync(depcruise, ['-c', '.dependency-cruiser.cjs', '-T', 'json', '-f', out, ...targets], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    // A non-zero exit is the number of errors; the summary says what they are. No file means it did not run.
    if (!existsSync(out)) throw err;
  }
  result = JSON.parse(readFileSync(out, 'utf8'));
} catch (err) {
  console.error(`check-architecture: dependency-cruiser failed: ${err.message}`);
  process.exit(2);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const { summary, modules } = result;
// With no TypeScript API it silently falls back to a loose JavaScript parser and sees no type-only import: refuse that.
const typeOnly = modules.some((m) => m.dependencies.some((d) => d.dependencyTypes.includes('type-only')));
if (!typeOnly) {
  console.error('check-architecture: no type-only import was seen: dependency-cruiser did not parse TypeScript (is tools/lint installed?)');
  process.exit(2);
}
const byRule = new Map();
for (const v of summary.violations) {
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name ?? c)].join(' → ') : `${v.from} → ${v.to}`;
  byRule.set(v.rule.name, [...(byRule.get(v.rule.name) ?? []), `${v.rule.severity} ${path}`]);
}
for (const [rule, lines] of byRule) {
  console.log(`${rule} (${lines.length})`);
  for (const l of lines) console.log(`  ${l}`);
}
console.log(`architecture: ${summary.error} errors, ${summary.warn} warnings in ${summary.totalCruised} modules and ${summary.totalDependenciesCruised} imports (${targets.join(', ')})`);
process.exit(summary.error > 0 ? 1 : 0);
