/**
 * The matrix of a tournament expands like a GitHub Actions matrix (docs.github.com, "Running variations of jobs in
 * a workflow"): the worked example from those docs, with its six jobs, and the counting bound used before a large
 * matrix is enumerated.
 */
import { expandMatrix, idPart, matrixBounds } from '../../src/config/tournament.js';

const plain = (c: ReturnType<typeof expandMatrix>) => c.map((x) => Object.fromEntries(x.values));

test("GitHub's example: include extends the combinations it fits, overwrites only added values, else adds one", () => {
  const axes = [
    { path: 'fruit', values: ['apple', 'pear'] },
    { path: 'animal', values: ['cat', 'dog'] },
  ];
  const include = [{ color: 'green' }, { color: 'pink', animal: 'cat' }, { fruit: 'apple', shape: 'circle' }, { fruit: 'banana' }, { fruit: 'banana', animal: 'cat' }];
  expect(plain(expandMatrix(axes, include))).toEqual([
    { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
    { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
    { fruit: 'pear', animal: 'cat', color: 'pink' },
    { fruit: 'pear', animal: 'dog', color: 'green' },
    { fruit: 'banana' },
    { fruit: 'banana', animal: 'cat' },
  ]);
});

test('exclude removes partial matches before include runs; values compare as JSON (a mapping as a whole)', () => {
  const axes = [
    { path: 'os', values: ['macos', 'windows'] },
    { path: 'version', values: [12, 14, 16] },
    { path: 'env', values: ['staging', { name: 'production', params: { x: 1 } }] },
  ];
  const exclude = [{ os: 'macos', version: 12, env: { name: 'production', params: { x: 1 } } }, { os: 'windows', version: 16 }];
  const out = plain(expandMatrix(axes, [], exclude));
  expect(out.length).toBe(12 - 1 - 2);
  expect(out).not.toContainEqual({ os: 'windows', version: 16, env: 'staging' });
  expect(out).toContainEqual({ os: 'macos', version: 12, env: 'staging' });
  // The first axis varies slowest.
  expect(out.slice(0, 3)).toEqual([{ os: 'macos', version: 12, env: 'staging' }, { os: 'macos', version: 14, env: 'staging' }, { os: 'macos', version: 14, env: { name: 'production', params: { x: 1 } } }]);
  const b = matrixBounds(axes, [], exclude);
  expect(b.min).toBeLessThanOrEqual(out.length);
  expect(b.max).toBeGreaterThanOrEqual(out.length);
});

test('a matrix with no axes is its include entries; every value remembers where it is written', () => {
  const c = expandMatrix([], [{ a: 1 }, { a: 2, b: 3 }]);
  expect(plain(c)).toEqual([{ a: 1 }, { a: 2, b: 3 }]);
  expect(c[1].at.get('b')).toEqual(['matrix', 'include', 1, 'b']);
  expect(expandMatrix([{ path: 'x', values: [5, 6] }])[1].at.get('x')).toEqual(['matrix', 'x', 1]);
});

test('a value in a cell id: a plugin by its name (its params hashed), scalars as written, folder-safe', () => {
  expect(idPart('hrp')).toBe('hrp');
  expect(idPart(20)).toBe('20');
  expect(idPart({ name: 'hrp', params: {} })).toBe('hrp');
  expect(idPart({ name: 'hrp', params: { linkage: 'ward' } })).toMatch(/^hrp-[0-9a-f]{6}$/);
  expect(idPart('a b/c')).toBe('a-b-c');
  expect(idPart([1, 2])).toMatch(/^[0-9a-f]{8}$/);
});
