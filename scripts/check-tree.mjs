// Tests never write into the source tree. `check-tree.mjs snapshot <file>` records every file (size, mtime) and every
// folder's mtime under the project (a folder's mtime moves when an entry is created or removed in it, so a file
// written and deleted again is seen too); `check-tree.mjs compare <file>` lists what changed since and exits 1 if
// anything did. Build output (dist/, .dist-tmp-*) and installed packages are not the source tree.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP = new Set(['.git', 'node_modules', 'dist']);
const skipped = (name) => SKIP.has(name) || name.startsWith('.dist-tmp-');

function snapshot() {
  const out = {};
  const walk = (dir) => {
    const rel = relative(root, dir) || '.';
    const entries = readdirSync(dir, { withFileTypes: true }).filter((e) => !skipped(e.name));
    // The root's own mtime moves with every build (dist/ is renamed into place): its entries are compared instead.
    out[`${rel}/`] = rel === '.' ? entries.map((e) => e.name).sort().join('\n') : statSync(dir).mtimeMs;
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        out[relative(root, p)] = `${st.size}:${st.mtimeMs}`;
      }
    }
  };
  walk(root);
  return out;
}

const [mode, file] = process.argv.slice(2);
if (mode === 'snapshot' && file) {
  writeFileSync(file, JSON.stringify(snapshot()));
} else if (mode === 'compare' && file) {
  const before = JSON.parse(readFileSync(file, 'utf8'));
  const after = snapshot();
  const changed = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(k in after)) changed.push(`removed  ${k}`);
    else if (!(k in before)) changed.push(`created  ${k}`);
    else if (before[k] !== after[k]) changed.push(`${k.endsWith('/') ? 'entries changed in' : 'modified'} ${k}`);
  }
  if (changed.length) {
    console.error(`the tests wrote into the source tree (${changed.length} changes); write into a temporary folder instead:`);
    for (const c of changed.sort()) console.error(`  ${c}`);
    process.exit(1);
  }
  console.log('source tree untouched by the tests');
} else {
  console.error('usage: check-tree.mjs snapshot|compare <file>');
  process.exit(2);
}
