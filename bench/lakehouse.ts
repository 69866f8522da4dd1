/**
 * Lakehouse benchmark: seeds a synthetic market of N symbols x T days into a temporary folder, then times the
 * import, a cold returns read (files decoded) and a warm one (cached handle), for 1000 and T days.
 * Run after `npm run build`: node dist/bench/lakehouse.js [symbols=500] [days=2000] (or `npm run bench -- --only lakehouse`)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLakehouse } from '../src/lakehouse/index.js';
import { isoFromDay } from '../src/util/dates.js';

const N = Number(process.argv[2] ?? 500);
const T = Number(process.argv[3] ?? 2000);
const dir = await mkdtemp(join(tmpdir(), 'fractal-bench-'));
const ms = (t0: number) => `${(performance.now() - t0).toFixed(1)} ms`;
try {
  const lh = await openLakehouse(dir);
  let t0 = performance.now();
  const rep = await lh.seedSynthetic({ symbols: N, days: T, seed: 7 });
  console.log(`seed+write ${rep.written.length} files (${N} spot symbols + perps) x ${T} days: ${ms(t0)}`);
  const spot = lh.symbols().filter((s) => s.venue === 'synthetic-spot').map((s) => s.symbol);
  const end = lh.symbols().reduce((m, s) => (s.last_date > m ? s.last_date : m), '');
  for (const days of [1000, T]) {
    t0 = performance.now();
    const ro = await openLakehouse(dir, { readOnly: true }); // a fresh handle: registry parsed, no cached files
    const m = await ro.readReturns({ symbols: spot, venue: 'synthetic-spot', end, lookbackDays: days });
    const cold = ms(t0);
    t0 = performance.now();
    await ro.readReturns({ symbols: spot, venue: 'synthetic-spot', end, lookbackDays: days });
    console.log(`readReturns ${m.symbols.length} x ${m.dates.length} (${isoFromDay(m.dates[0])}..${end}): open + cold read ${cold}, warm ${ms(t0)}`);
  }
  // CSV import at the same size: the spot closes written as one wide file, imported into another venue.
  const closes = await Promise.all(spot.map((s) => lh.readOhlcv(s, 'synthetic-spot')));
  const allDays = [...new Set(closes.flatMap((o) => Array.from(o.date)))].sort((a, b) => a - b);
  const maps = closes.map((o) => new Map(Array.from(o.date, (d, i) => [d, o.close[i]])));
  const lines = [['date', ...spot].join(',')];
  for (const d of allDays) lines.push([isoFromDay(d), ...maps.map((m) => m.get(d) ?? '')].join(','));
  const csv = join(dir, 'wide.csv');
  await writeFile(csv, lines.join('\n'));
  t0 = performance.now();
  const imp = await lh.importCsv(csv, { venue: 'bench-csv', layout: 'wide', assetType: 'spot' });
  console.log(`importCsv wide ${imp.written.length} symbols x ${allDays.length} days: ${ms(t0)}`);
  t0 = performance.now();
  const v = await lh.verify();
  console.log(`verify ${v.checked} files (sha256 + decode): ${ms(t0)}, ok=${v.ok}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
