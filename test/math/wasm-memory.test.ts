/**
 * The kernels' WebAssembly memories grow without detaching an ArrayBuffer. Growing an ordinary memory detaches the
 * buffer it had, and the first detach in a process invalidates V8's ArrayBufferDetaching protector: every optimised
 * function that reads a typed array is thrown away at that moment (13 at once in a walk-forward run at N=500,
 * `--trace-deopt`) and compiled again with a check for a detached buffer. A shared memory grows in place. Checked with
 * V8's own trace, in a child process on the built modules (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_DIR } from '../data.js';

const built = (file: string) => JSON.stringify(pathToFileURL(join(REPO_DIR, 'dist', 'src', 'math', file)).href);

test("a correlation and a Ward linkage of 300 symbols grow the kernels' memories and detach no buffer", () => {
  const script = `
    import { correlationMatrix, correlationDistance } from ${built('correlation.js')};
    import { wardLinkage } from ${built('ward.js')};
    import { heap, simdAvailable } from ${built('cross-products-wasm.js')};
    import { wardSimdAvailable } from ${built('ward-wasm.js')};
    const n = 300, days = 252;
    let s = 1;
    const next = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    const values = Float64Array.from({ length: n * days }, next);
    const corr = correlationMatrix({ values, nSymbols: n, nDays: days });
    const merges = wardLinkage(correlationDistance(corr, n), n, 'square');
    console.log('kernels', simdAvailable(), wardSimdAvailable(), 'memory', heap().byteLength, 'merges', merges.length / 4);
  `;
  const r = spawnSync(process.execPath, ['--trace-protector-invalidation', '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const [, simd, wardSimd, memory, merges] = /kernels (\w+) (\w+) memory (\d+) merges (\d+)/.exec(r.stdout) ?? [];
  expect([simd, wardSimd, merges]).toEqual(['true', 'true', '299']);
  // Beyond the one page (64 KiB) each memory starts with: the correlation's memory grew (Ward's holds 300² entries).
  expect(Number(memory)).toBeGreaterThan(65536);
  expect(r.stdout).not.toContain('ArrayBufferDetaching');
});
