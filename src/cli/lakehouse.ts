/**
 * `pipeline-run lakehouse ...`: fill, inspect, check and repair the market-data store (src/lakehouse).
 * Actions throw FractalError on bad input (main prints it, exit 2) and set process.exitCode for findings
 * (verify finding corruption -> 1). Progress bars go to stderr on a TTY only.
 */
import type { Command } from 'commander';
import { FractalError, inputError } from '../core/errors.js';
import { createProgress, setProgressQuiet } from './progress.js';
import type { DayRange, Lakehouse, WriteReport, SymbolRow } from '../api/types.js';
import { lakehousePath, writeJson } from './shared.js';

import { openLakehouse } from '../api/lakehouse.js';
import { exitStatusOf, STOP_SIGNALS } from '../util/signals.js';

interface PathOpts {
  lakehouse?: string;
}

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw inputError('CLI_BAD_OPTION', `${name} must be an integer from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

function num(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw inputError('CLI_BAD_OPTION', `${name} must be a non-negative number, got "${value}".`);
    return n;
  };
}

/** The path from the subcommand, else the parent `lakehouse --lakehouse`, else FRACTAL_LAKEHOUSE, else ./lakehouse. */
function pathOf(cmd: Command): string {
  return lakehousePath((cmd.optsWithGlobals() as PathOpts).lakehouse);
}

const LAKEHOUSE_HELP = 'lakehouse folder (default: $FRACTAL_LAKEHOUSE or ./lakehouse)';

function printWrite(verb: string, lh: Lakehouse, rep: WriteReport): void {
  const degraded = rep.written.filter((w) => w.status !== 'STABLE');
  const venues = [...new Set(rep.written.map((w) => w.key.split('/')[0]))].join(', ');
  console.log(`${verb} ${rep.written.length} symbol(s) into ${lh.root}${venues ? ` (venue ${venues})` : ''}: ${rep.written.length - degraded.length} STABLE, ${degraded.length} DEGRADED`);
  // What the write did: a daily append should say it added the day, and a re-import that it changed nothing.
  const count = (c: string) => rep.written.filter((w) => w.change === c).length;
  const changed = rep.written.filter((w) => w.change === 'changed');
  const delta = changed.reduce((a, w) => a + w.rows - (w.rows_before ?? 0), 0);
  console.log(`  ${count('new')} new, ${changed.length} changed${changed.length ? ` (${delta >= 0 ? '+' : ''}${delta} row(s) in all)` : ''}, ${count('unchanged')} unchanged`);
  for (const w of changed.slice(0, 10)) console.log(`  changed ${w.key}: ${w.rows_before} -> ${w.rows} rows, now ${w.first_date}..${w.last_date}`);
  if (changed.length > 10) console.log(`  … and ${changed.length - 10} more changed`);
  for (const d of degraded) console.log(`  DEGRADED ${d.key}: ${d.reasons.join('; ')}`);
  // Bars of closes alone the user did not ask for as such (a wide file is closes alone by its layout): say so, as the
  // order-level simulator fills an order due at their open at the close instead. Files of single prints in one line
  // (a folder of them is common: closes written out as bars), the days an earlier source left one line each.
  const single = rep.written.filter((w) => w.closes_only?.why === 'single_prints').map((w) => w.key);
  if (single.length)
    console.log(`  closes only ${single.slice(0, 10).join(', ')}${single.length > 10 ? ` and ${single.length - 10} more` : ''}: every bar is a single print (open = high = low = close), so the opens are copies of the closes: kept as closes alone (an order due at an open fills at that day's close)`);
  const earlier = rep.written.filter((w) => w.closes_only?.why === 'earlier_bars');
  for (const w of earlier.slice(0, 10)) console.log(`  closes only ${w.key} on ${showDays(w.closes_only!.days)}: bars stored from closes alone before; the bars with printed opens are used as such`);
  if (earlier.length > 10) console.log(`  … and ${earlier.length - 10} more with days of closes alone`);
}

/** Days of closes alone as `lakehouse status` and the writers show them. */
const showDays = (days: DayRange[]) => days.map(([a, b]) => (a === b ? a : `${a}..${b}`)).join(', ');

function table(rows: SymbolRow[]): string {
  // closes_only: `all` for a series of closes alone (a wide CSV, single prints), else its days of them, if any.
  const alone = (r: SymbolRow) => (!r.closes_only.length ? '' : r.closes_only.length === 1 && r.closes_only[0][0] === r.first_date && r.closes_only[0][1] === r.last_date ? 'all' : showDays(r.closes_only));
  const head = ['venue', 'symbol', 'type', 'sector', 'rows', 'first', 'last', 'closes_only', 'status', 'reasons'];
  const body = rows.map((r) => [r.venue, r.symbol, r.asset_type, r.sector ?? '', String(r.rows), r.first_date, r.last_date, alone(r), r.status, r.reasons.join('; ')]);
  const widths = head.map((h, i) => (i === head.length - 1 ? 0 : Math.max(h.length, ...body.map((b) => b[i].length))));
  return [head, ...body].map((cells) => cells.map((c, i) => (widths[i] ? c.padEnd(widths[i]) : c)).join('  ').trimEnd()).join('\n');
}

/**
 * What every lakehouse command does first: say whom it waits for when another writer holds the lock (after a second
 * of silence a wait of up to two minutes looked like a hang), and turn Ctrl-C, SIGTERM and SIGHUP into an exit, so
 * the lock it holds is removed as it exits (lock.ts). A killed writer left its LOCK, which a writer on another host
 * (a CI runner restoring a cached lakehouse) cannot tell is stale.
 */
async function lakehouseCommandStarts(): Promise<void> {
  const { setDefaultLockWait } = await import('../lakehouse/lock.js');
  setDefaultLockWait((holder) =>
    process.stderr.write(`waiting for the lakehouse lock, held by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}${holder.command ? ` (${holder.command})` : ''}` : 'an unknown process'}…\n`),
  );
  for (const sig of STOP_SIGNALS) process.once(sig, () => process.exit(exitStatusOf(sig)));
}

export function registerLakehouseCommand(program: Command): void {
  const lakehouse = program
    .command('lakehouse')
    .description('fill, inspect, verify and repair the market-data lakehouse')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .hook('preAction', lakehouseCommandStarts);

  lakehouse
    .command('seed')
    .description('write a seeded synthetic market (sectors, regimes, fat tails, gaps, a toxic spike, a stablecoin, spot and perp venues)')
    .option('--synthetic', 'the synthetic source (the only seed source)')
    .option('--symbols <n>', 'spot symbols', int('--symbols', 8, 20000), 60)
    .option('--days <n>', 'days of history', int('--days', 30, 20000), 1000)
    .option('--seed <n>', 'random seed', int('--seed', 0, 0xffffffff), 42)
    .option('--end <date>', 'last date, YYYY-MM-DD', '2025-12-31')
    .option('--replace', 'overwrite symbols that exist from another source')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (opts: { synthetic?: boolean; symbols: number; days: number; seed: number; end: string; replace?: boolean }, cmd: Command) => {
      if (!opts.synthetic) throw inputError('CLI_BAD_OPTION', '`lakehouse seed` needs --synthetic (the only seed source).', 'Use `lakehouse import` for CSV files and `lakehouse ingest` for exchanges.');
      const lh = await openLakehouse(pathOf(cmd), { writable: true });
      const progress = await createProgress();
      try {
        const rep = await lh.seedSynthetic({ ...opts, progress: progress.update });
        printWrite('Seeded', lh, rep);
      } finally {
        progress.stop();
      }
    });

  lakehouse
    .command('import')
    .description('import CSV: a wide file of closes (date + one column per symbol) or per-symbol OHLCV files')
    .argument('<path>', 'a CSV file or a folder of CSV files')
    .option('--layout <layout>', 'wide or ohlcv (default: detected from the header)')
    .option('--venue <name>', 'venue to store the symbols under', 'csv')
    .option('--asset-type <type>', 'spot, perp, equity or etf (default: spot when the dates include weekends, else equity)')
    .option('--replace', 'overwrite symbols that exist from another source')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (path: string, opts: { layout?: string; venue: string; assetType?: string; replace?: boolean }, cmd: Command) => {
      // --layout and --asset-type are checked by the CSV source before it reads a file; opening a writer creates nothing.
      const lh = await openLakehouse(pathOf(cmd), { writable: true });
      const progress = await createProgress();
      try {
        const rep = await lh.importCsv(path, { layout: opts.layout as 'wide' | 'ohlcv' | undefined, venue: opts.venue, assetType: opts.assetType, replace: opts.replace, progress: progress.update });
        printWrite('Imported', lh, rep);
      } finally {
        progress.stop();
      }
    });

  lakehouse
    .command('ingest')
    .description('fetch markets, tickers and daily OHLCV from an exchange with ccxt (only the missing days on later runs)')
    .requiredOption('--exchange <id>', 'ccxt exchange id (binance, kraken, okx, ...)')
    .option('--quote <asset>', 'quote currency', 'USDT')
    .option('--type <type>', 'spot or swap', 'spot')
    .option('--min-volume <x>', 'minimum 24h quote volume', num('--min-volume'))
    .option('--since <date>', 'first day for new symbols, YYYY-MM-DD (default: 365 days ago)')
    .option('--symbols <list>', 'comma-separated markets (BTCUSDT or BTC/USDT)')
    .option('--max-symbols <n>', 'at most this many markets, by 24h volume', int('--max-symbols', 1, 100000))
    .option('--replace', 'overwrite symbols that exist from another source')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (opts: { exchange: string; quote: string; type: string; minVolume?: number; since?: string; symbols?: string; maxSymbols?: number; replace?: boolean }, cmd: Command) => {
      if (opts.type !== 'spot' && opts.type !== 'swap') throw inputError('CCXT_TYPE', `--type must be spot or swap, got "${opts.type}".`);
      const lh = await openLakehouse(pathOf(cmd), { writable: true });
      const progress = await createProgress();
      try {
        const rep = await lh.ingestCcxt({
          exchange: opts.exchange, quote: opts.quote, type: opts.type, minVolume: opts.minVolume, since: opts.since,
          symbols: opts.symbols?.split(',').map((s) => s.trim()).filter(Boolean), maxSymbols: opts.maxSymbols, replace: opts.replace, progress: progress.update,
        });
        printWrite('Ingested', lh, rep);
        if (rep.upToDate.length) console.log(`  ${rep.upToDate.length} symbol(s) already up to date; ${rep.requests} request(s)`);
      } finally {
        progress.stop();
      }
    });

  lakehouse
    .command('symbols')
    .description('declare what imports cannot know about symbols from a CSV file: columns symbol, and any of venue, sector, market_cap_rank, lot_size, min_notional, asset_type')
    .argument('<file>', 'a CSV file, one row per symbol (a row without a venue sets every venue holding the symbol)')
    .option('--skip-unknown', 'set only the symbols the lakehouse holds, listing the others (they are refused otherwise)')
    .option('--json', 'machine-readable output')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (file: string, opts: { skipUnknown?: boolean; json?: boolean }, cmd: Command) => {
      const lh = await openLakehouse(pathOf(cmd), { writable: true, create: false });
      const rep = await lh.declareSymbols(file, { skipUnknown: opts.skipUnknown });
      if (opts.json) {
        writeJson(rep);
        return;
      }
      const set = Object.entries(rep.fields).map(([f, n]) => `${f} for ${n}`).join(', ');
      console.log(`Declared ${set || 'nothing'} in ${lh.root}: ${rep.changed.length} symbol(s) changed, ${rep.unchanged.length} already so`);
      for (const s of rep.skipped) console.log(`  skipped ${file}:${s.line}: ${s.venue ? `${s.venue}/` : ''}${s.symbol} is not in the lakehouse`);
    });

  lakehouse
    .command('status')
    .description('list the symbols with their rows, dates and health')
    .option('--json', 'machine-readable output')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      if (opts.json) setProgressQuiet(true);
      const lh = await openLakehouse(pathOf(cmd), {});
      const st = lh.status();
      // Who holds the writer lock, if anyone: a writer waiting on it would otherwise wait in silence for a reason
      // status did not show (a LOCK left by a writer killed on another host: remove it by hand once that is known).
      const { readLock, isStale } = await import('../lakehouse/lock.js');
      // Something at LOCK that is not a lock (a folder) is shown, not thrown: status still lists the symbols.
      let lockProblem: string | undefined;
      const held = await readLock(pathOf(cmd)).catch((err: unknown) => {
        if (!(err instanceof FractalError)) throw err;
        lockProblem = err.message;
        return undefined;
      });
      const lock = held ? { ...(held.info ?? {}), stale_here: isStale(held), file: `${pathOf(cmd)}/LOCK` } : lockProblem ? { problem: lockProblem, file: `${pathOf(cmd)}/LOCK` } : null;
      const versions = await lh.keptVersions();
      if (opts.json) {
        writeJson({ ...st, lock, versions });
        return;
      }
      console.log(`${st.root}: ${st.symbols} symbol(s), ${st.stable} STABLE, ${st.degraded} DEGRADED; venues ${Object.entries(st.venues).map(([v, n]) => `${v} (${n})`).join(', ')}; updated ${st.updated_at}`);
      if (lockProblem) console.log(`lock: ${lockProblem}`);
      if (held) console.log(`locked by ${held.info ? `pid ${held.info.pid} on ${held.info.host} since ${held.info.since}${held.info.command ? ` (${held.info.command})` : ''}` : 'an unreadable LOCK'}${isStale(held) ? ': its process is gone, the next writer clears it' : held.info && held.info.host !== (await import('node:os')).hostname() ? `: another host's; if that writer is gone, remove ${pathOf(cmd)}/LOCK` : ''}`);
      if (versions.files)
        console.log(`${versions.files} replaced file(s) kept for runs that started before the imports that replaced them (versions/, ${versions.bytes < 2 ** 20 ? `${Math.ceil(versions.bytes / 1024)} KiB` : `${(versions.bytes / 2 ** 20).toFixed(1)} MiB`}; removed by a writer after FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours, 24 unless set)`);
      if (st.entries.length) console.log(table(st.entries));
    });

  lakehouse
    .command('verify')
    .description('re-read every file against its checksum (finishes an interrupted commit first)')
    .option('--json', 'machine-readable output')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const lh = await openLakehouse(pathOf(cmd), { writable: true, create: false });
      const rep = await lh.verify();
      if (!rep.ok) process.exitCode = 1;
      if (opts.json) {
        writeJson(rep);
        return;
      }
      if (rep.recovered?.journalReplayed) console.log('finished an interrupted commit (journal replayed)');
      if (rep.recovered?.tempFilesRemoved.length) console.log(`removed ${rep.recovered.tempFilesRemoved.length} temporary file(s) left by an interrupted writer`);
      for (const p of rep.problems) console.log(`  ${p.reason === 'no_permission' ? 'UNREADABLE' : 'CORRUPT'} ${p.key} (${p.file}): ${p.problem}`);
      if (rep.orphans.length) console.log(`  ${rep.orphans.length} file(s) not in the registry (run \`lakehouse repair\` to remove): ${rep.orphans.slice(0, 5).join(', ')}${rep.orphans.length > 5 ? ', …' : ''}`);
      const refused = rep.problems.filter((p) => p.reason === 'no_permission').length;
      const corrupt = rep.problems.length - refused;
      const unreadable = refused ? `${refused} of ${rep.checked} file(s) cannot be read for lack of permission: check their permissions (\`lakehouse repair\` leaves them)` : '';
      if (rep.ok) console.log(`OK: ${rep.checked} file(s) match their checksums`);
      else console.log(`FAILED: ${[corrupt ? `${corrupt} of ${rep.checked} file(s) are corrupt; run \`lakehouse repair\`` : '', unreadable].filter(Boolean).join('; ')}`);
    });

  lakehouse
    .command('repair')
    .description('re-fetch DEGRADED or corrupt symbols from their source; remove orphan files')
    .option('--json', 'machine-readable output')
    .option('--lakehouse <path>', LAKEHOUSE_HELP)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const lh = await openLakehouse(pathOf(cmd), { writable: true, create: false });
      const progress = await createProgress();
      let rep;
      try {
        rep = await lh.repair({ progress: progress.update });
      } finally {
        progress.stop();
      }
      if (opts.json) {
        writeJson(rep);
      } else {
        for (const r of rep.repaired) {
          const what = r.status === 'STABLE' ? 'now STABLE' : r.changed ? `re-fetched, still DEGRADED: ${r.after.join('; ')}` : `unchanged at the source, still DEGRADED: ${r.after.join('; ')}`;
          console.log(`  ${r.key}: ${what}`);
        }
        for (const s of rep.skipped) console.log(`  ${s.key}: not repaired: ${s.why}`);
        if (rep.orphansRemoved.length) console.log(`  removed ${rep.orphansRemoved.length} orphan file(s)`);
        console.log(`repair: ${rep.repaired.length} symbol(s) re-fetched, ${rep.skipped.length} skipped`);
      }
      const lh2 = await openLakehouse(lh.root, {});
      if (!(await lh2.verify()).ok || rep.skipped.length) process.exitCode = 1;
    });
}
