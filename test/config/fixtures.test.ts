/**
 * Fixture folders: each case under fixtures/ holds a pipeline file (plus the files it needs), an optional
 * args.json ({ file?, profile?, sets? }) and expected.txt, the exact diagnostics the validator must give:
 *
 *   pipeline.yaml:7:15: error PLUGIN_UNKNOWN
 *     ~ did you mean 'clustering'
 *
 * one header line per diagnostic (file relative to the case folder, 1-based line and column, severity, code) in
 * the engine's order, each followed by `  ~` phrases its message or hint must contain (case-insensitive). A valid
 * case ends with `valid` (warnings may precede it); `hash stable` also checks that validating again gives the
 * same sha256. Set FIXTURE_DUMP=1 to print every case's full diagnostics (messages and hints) while writing cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actualText, caseArgs, caseNames, FIXTURES, parseExpected, relFile, validateCase } from './helpers.js';

const cases = caseNames();

describe('validation fixtures', () => {
  it('has fixture cases', () => {
    expect(cases.length).toBeGreaterThan(50);
  });

  it.each(cases)('%s', async (name) => {
    const dir = join(FIXTURES, name);
    const args = caseArgs(dir);
    const result = await validateCase(dir, args);
    if (process.env.FIXTURE_DUMP)
      process.stdout.write(`--- ${name}\n${result.diagnostics.map((d) => `${relFile(d.file, dir)}:${d.line}:${d.column}${d.endColumn ? `-${d.endColumn}` : ''}: ${d.severity} ${d.code} ${d.message}\n    hint: ${d.hint ?? ''}`).join('\n')}\n${result.ok ? 'valid' : 'invalid'}\n`);
    const expected = parseExpected(readFileSync(join(dir, 'expected.txt'), 'utf8'));

    let hashStable = false;
    if (expected.hashStable && result.ok) {
      const again = await validateCase(dir, args);
      hashStable = typeof result.hash === 'string' && /^[0-9a-f]{64}$/.test(result.hash) && again.hash === result.hash;
    }
    expect(actualText(result, dir, expected, hashStable)).toBe(expected.text);
    // A valid result carries the resolved config and its hash; an invalid one carries neither.
    if (result.ok) {
      expect(result.resolved).toBeDefined();
      expect(result.hash).toMatch(/^[0-9a-f]{64}$/);
    } else {
      expect(result.resolved).toBeUndefined();
    }
  });
});
