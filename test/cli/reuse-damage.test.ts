/**
 * `--reuse` of a damaged run: the reused run's files are the user's input, checked against what its checkpoints
 * recorded when they were written (each artifact's sha256 and size, each blob's size; a blob's name is its sha256)
 * before anything of the new run is written. A changed or missing artifact, a path that leaves the run folder, a torn
 * checkpoint, a blob that is not a regular file of its recorded size: REUSE_RUN_DAMAGED (exit 2), naming the file,
 * nothing read outside the run folder, no run folder made. Each case damages a copy of one good run.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { repo } from './helpers.js';
import { PIPELINE } from './reuse-fixture.js';

let tmp: string;
let file: string;
let good: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-reuse-damage-'));
  file = join(tmp, 'reuse_demo.yaml');
  writeFileSync(file, PIPELINE);
  const first = run(['run', file, '--out', join(tmp, 'good')]);
  expect(first.out.outcome).toBe('succeeded');
  good = first.out.folder!;
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


interface RunJson {
  outcome?: string;
  folder?: string;
  errors?: { code: string; message: string }[];
}
/** What the tests edit of a checkpoint (src/runs/checkpoints.ts StageCheckpoint). */
interface Checkpoint {
  code: string;
  fields: Record<string, string>;
  unrestorable: Record<string, unknown>;
  artifacts: string[];
  writes: { file: string; sha256?: string; size?: number }[];
  blobs?: Record<string, number>;
}

/** The CLI with --json, killed after `seconds` (a run that hangs on a pipe or reads a device without end fails here). */
function run(args: string[], seconds = 60) {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), ...args, '--json'], { cwd: repo, env: { ...process.env, CI: '1' }, encoding: 'utf8', timeout: seconds * 1000, killSignal: 'SIGKILL' });
  let out: RunJson = {};
  try {
    out = JSON.parse(r.stdout) as RunJson;
  } catch {
    /* killed, or no JSON: the assertions on code say so */
  }
  return { code: r.status, signal: r.signal, out, stderr: r.stderr };
}

/** A copy of the good run in a runs root of its own, damaged; its folder. */
function damaged(name: string, damage: (folder: string) => void): string {
  const folder = join(tmp, name, 'reuse_demo', basename(good));
  cpSync(good, folder, { recursive: true });
  damage(folder);
  return folder;
}

const checkpointFile = (folder: string, i: number) => join(folder, 'checkpoints', `${i}.json`);
const editCheckpoint = (folder: string, i: number, edit: (cp: Checkpoint) => void) => {
  const cp = JSON.parse(readFileSync(checkpointFile(folder, i), 'utf8')) as Checkpoint;
  edit(cp);
  writeFileSync(checkpointFile(folder, i), JSON.stringify(cp));
};
/** The blob of a field of checkpoint 4 (policy): `winners`. */
const winnersBlob = (folder: string) => join(folder, 'checkpoints', 'blobs', JSON.parse(readFileSync(checkpointFile(folder, 4), 'utf8')).fields.winners);

/** Refused as REUSE_RUN_DAMAGED, exit 2, in time; nothing written under the runs root but the damaged run itself. */
function refused(folder: string, message: RegExp, from = 'allocation', code = 'REUSE_RUN_DAMAGED', seconds = 60) {
  const root = join(folder, '..', '..');
  const before = readdirSync(join(root, 'reuse_demo')).sort();
  const r = run(['run', file, '--out', root, '--from', from, '--reuse', folder], seconds);
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 2, signal: null });
  expect(r.out.outcome).toBe('invalid');
  expect(r.out.errors![0]!.code).toBe(code);
  expect(r.out.errors![0]!.message).toMatch(message);
  expect(readdirSync(join(root, 'reuse_demo')).sort()).toEqual(before);
  return r.out.errors![0]!;
}

describe('an artifact of a reused stage changed or missing', () => {
  test.each(['winners.json', 'candidates.json'])('%s edited: refused, naming it (it was copied into a run that said it succeeded)', (name) => {
    const folder = damaged(`edited-${name}`, (f) => writeFileSync(join(f, name), '[]\n'));
    refused(folder, new RegExp(`${name.replace('.', '\\.')} .*changed`));
  });

  test('a section of metrics.json a reused stage wrote, edited: refused, naming the file', () => {
    const folder = damaged('edited-section', (f) => {
      const m = JSON.parse(readFileSync(join(f, 'metrics.json'), 'utf8'));
      m.allocation.engine = 'edited';
      writeFileSync(join(f, 'metrics.json'), `${JSON.stringify(m, null, 2)}\n`);
    });
    refused(folder, /metrics\.json .*changed/, 'backtest');
  });

  test('an artifact replaced by a symbolic link (even to the same bytes outside the run): refused, not followed', () => {
    const outside = join(tmp, 'outside-winners.json');
    writeFileSync(outside, readFileSync(join(good, 'winners.json')));
    const folder = damaged('linked', (f) => {
      rmSync(join(f, 'winners.json'));
      symlinkSync(outside, join(f, 'winners.json'));
    });
    refused(folder, /winners\.json .*symbolic link/);
  });
});

describe('a path a checkpoint names that leaves the run folder', () => {
  // A pipe outside the run folder: a run that opens it waits forever (and is killed by the time limit here).
  let fifo: string;
  beforeAll(() => {
    fifo = join(tmp, 'outside-fifo');
    execFileSync('mkfifo', [fifo]);
  });
  const up = (folder: string) => `${'../'.repeat(folder.split('/').length)}${fifo.slice(1)}`;

  test('a `writes` entry with `..`: refused, nothing opened outside', () => {
    const folder = damaged('dotdot', (f) => editCheckpoint(f, 4, (cp) => (cp.writes[0].file = up(f))));
    refused(folder, /checkpoints\/4\.json .*outside the run folder/, 'allocation', 'REUSE_RUN_DAMAGED', 20);
  });

  test('an absolute `artifacts` entry: refused', () => {
    const folder = damaged('absolute', (f) => editCheckpoint(f, 4, (cp) => (cp.artifacts[0] = fifo)));
    refused(folder, /checkpoints\/4\.json .*outside the run folder/, 'allocation', 'REUSE_RUN_DAMAGED', 20);
  });

  test('a field naming a blob by a path, not a sha256: refused', () => {
    const folder = damaged('blob-path', (f) => editCheckpoint(f, 5, (cp) => (cp.fields.winners = `../../${up(f)}`)));
    refused(folder, /checkpoints\/5\.json .*not a blob name/, 'allocation', 'REUSE_RUN_DAMAGED', 20);
  });

  test('the checkpoints folder a link out of the run: refused', () => {
    const elsewhere = join(tmp, 'elsewhere-checkpoints');
    const folder = damaged('linked-dir', (f) => {
      cpSync(join(f, 'checkpoints'), elsewhere, { recursive: true });
      rmSync(join(f, 'checkpoints'), { recursive: true });
      symlinkSync(elsewhere, join(f, 'checkpoints'));
    });
    refused(folder, /outside the run folder/);
  });
});

test('a torn checkpoint is damaged, not missing: named', () => {
  const folder = damaged('torn-checkpoint', (f) => truncateSync(checkpointFile(f, 4), 40));
  const e = refused(folder, /checkpoints\/4\.json is not valid JSON/);
  expect(e.message).not.toMatch(/has no checkpoint/);
});

test('a checkpoint of another shape (a field not a string): damaged, named', () => {
  const folder = damaged('bad-shape', (f) => editCheckpoint(f, 2, (cp) => (cp.unrestorable = { market: 'zero' })));
  refused(folder, /checkpoints\/2\.json is not a stage checkpoint/);
});

describe('a checkpoint blob that is not the file its checkpoint recorded', () => {
  test('a link to /dev/zero: refused at once, never read', () => {
    const folder = damaged('zero', (f) => {
      rmSync(winnersBlob(f));
      symlinkSync('/dev/zero', winnersBlob(f));
    });
    refused(folder, /checkpoint blob \w+… .*symbolic link/, 'allocation', 'REUSE_RUN_DAMAGED', 20);
  });

  test('a pipe: refused at once, never waited on', () => {
    const folder = damaged('blob-fifo', (f) => {
      rmSync(winnersBlob(f));
      execFileSync('mkfifo', [winnersBlob(f)]);
    });
    refused(folder, /checkpoint blob \w+… is not a regular file/, 'allocation', 'REUSE_RUN_DAMAGED', 20);
  });

  test('changed in place (its size kept): its bytes are checked against its name', () => {
    const folder = damaged('blob-flipped', (f) => {
      const bytes = readFileSync(winnersBlob(f));
      bytes[bytes.length - 1] ^= 1;
      writeFileSync(winnersBlob(f), bytes);
    });
    refused(folder, /checkpoint blob \w+… does not match its hash \(changed or torn\)/);
  });

  test('grown: its size is checked before it is read', () => {
    const folder = damaged('blob-grown', (f) => appendFileSync(winnersBlob(f), Buffer.alloc(1024)));
    refused(folder, /checkpoint blob \w+… is \d+ bytes, its checkpoint recorded \d+/);
  });
});

describe('checkpoints that record no content hashes (written before they were recorded)', () => {
  const strip = (f: string) => {
    for (let i = 0; i < 9; i++)
      editCheckpoint(f, i, (cp) => {
        for (const w of cp.writes) {
          delete w.sha256;
          delete w.size;
        }
        delete cp.blobs;
      });
  };
  test('by this build (so edited): damaged, and says why', () => {
    const folder = damaged('unhashed', strip);
    refused(folder, /checkpoints\/0\.json records no content hashes/);
  });
  test('by another build: the code changed, as for any run of other code', () => {
    const folder = damaged('unhashed-old', (f) => {
      strip(f);
      for (let i = 0; i < 9; i++) editCheckpoint(f, i, (cp) => (cp.code = 'older'));
    });
    refused(folder, /was made by other code/, 'allocation', 'REUSE_CODE_CHANGED');
  });
});

test('files a later stage rewrote (weights.json, the allocation section, atoms.json) are not damage: --from backtest and --from report reuse an intact run', () => {
  const folder = damaged('intact', () => {});
  for (const from of ['backtest', 'report', 'synthesis']) {
    const r = run(['run', file, '--out', join(tmp, 'intact'), '--from', from, '--reuse', folder]);
    expect({ from, code: r.code, errors: r.out.errors }).toEqual({ from, code: 0, errors: undefined });
    // What the reused stages wrote is what the run it reused holds, byte for byte.
    for (const name of ['candidates.json', 'winners.json', 'weights.json', 'metrics.json']) expect({ name, same: readFileSync(join(r.out.folder!, name)).equals(readFileSync(join(good, name))) }).toEqual({ name, same: true });
  }
  expect(existsSync(join(tmp, 'intact', 'reuse_demo'))).toBe(true);
}, 180_000);
