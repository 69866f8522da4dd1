/**
 * The three output formats of `pipeline-run validate` (src/cli/format.ts): text (file:line:col: severity CODE
 * message, the source line with a caret line under the offending node, the hint), json, and GitHub workflow
 * commands (`::error file=…,line=…,col=…,title=CODE::message`), escaped as the GitHub runner requires:
 * in the message `%`, CR and LF become %25, %0D, %0A; in properties also `:` and `,` become %3A and %2C.
 */
import { join, relative } from 'node:path';
import { formatGithub, formatJson, formatText } from '../../src/cli/format.js';
import { diag } from '../../src/config/diagnostics.js';
import { validateFile } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';
import { removeTmpTrees, tmpTree } from './tmp.js';

afterAll(removeTmpTrees);

/** Undoes the GitHub escapes (as the runner does), to check that escaping loses nothing. */
const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) => unescapeData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));

const SOURCE = `pipeline: selection
version: "4.0"
stages:
  - type: ingestion
  - type: clustering
    params: { threshold: 0.7, treshold: 0.5 }
`;

describe('formatText', () => {
  it('prints file:line:col, severity, code and message, the source line, a caret line under the node, and the hint', async () => {
    const dir = tmpTree({ 'p.yaml': SOURCE });
    const file = join(dir, 'p.yaml');
    const r = await validateFile(file, { registry: builtinRegistry() });
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    const lines = formatText(r.diagnostics).split('\n');
    expect(lines[0]).toBe(`${d.file}:6:31: error PARAM_UNKNOWN_KEY ${d.message}`);
    expect(lines[1]).toBe('    6 |     params: { threshold: 0.7, treshold: 0.5 }');
    // The carets sit exactly under `treshold` (column 31, 8 characters).
    expect(lines[2]).toBe(`      | ${' '.repeat(30)}^^^^^^^^`);
    const source = lines[1].slice(lines[1].indexOf('| ') + 2);
    const carets = lines[2].slice(lines[2].indexOf('| ') + 2);
    expect(source.slice(carets.indexOf('^'), carets.lastIndexOf('^') + 1)).toBe('treshold');
    expect(lines[3]).toBe(`  hint: ${d.hint}`);
    expect(d.hint).toContain("Did you mean 'threshold'?");
    expect(lines[4]).toBe('');
    expect(lines).toHaveLength(5);
  });

  it('uses one caret when the end of the node is not known, and keeps columns when the line has tabs', () => {
    const dir = tmpTree({ 'p.yaml': 'a: 1\n\tb: "x"\n' });
    const file = join(dir, 'p.yaml');
    const out = formatText([diag('SCHEMA_BAD_VALUE', { file, line: 2, column: 5 }, 'bad b')]).split('\n');
    expect(out[0]).toBe(`${file}:2:5: error SCHEMA_BAD_VALUE bad b`);
    expect(out[1]).toBe('    2 |  b: "x"');
    expect(out[2]).toBe('      |     ^');
    expect(out[1][out[2].indexOf('^')]).toBe('"');
  });

  it('a caret at the end of a line (an empty value) still shows', () => {
    const dir = tmpTree({ 'p.yaml': 'params:\n' });
    const file = join(dir, 'p.yaml');
    const out = formatText([diag('SCHEMA_WRONG_TYPE', { file, line: 1, column: 8 }, 'must be a mapping')]).split('\n');
    expect(out[2]).toBe(`      | ${' '.repeat(7)}^`);
  });

  it('prints no source for the command line and for files it cannot read, and nothing at all for no diagnostics', () => {
    const out = formatText([
      diag('REF_SET_UNKNOWN_PATH', { file: '<command line: --set stages.x.y=1>', line: 1, column: 1 }, "--set names stage type 'x'", 'Did you mean…'),
      diag('FILE_NOT_FOUND', { file: '/nonexistent/dir/p.yaml', line: 1, column: 1 }, 'file not found: /nonexistent/dir/p.yaml'),
    ]);
    expect(out).toBe(
      "<command line: --set stages.x.y=1>:1:1: error REF_SET_UNKNOWN_PATH --set names stage type 'x'\n  hint: Did you mean…\n" +
        '/nonexistent/dir/p.yaml:1:1: error FILE_NOT_FOUND file not found: /nonexistent/dir/p.yaml\n',
    );
    expect(formatText([])).toBe('');
  });

  it('marks warnings as warnings', () => {
    const d = diag('PLUGIN_DEPRECATED_NAME', { file: '<x>', line: 1, column: 1 }, 'old name', undefined, 'warning');
    expect(formatText([d])).toBe('<x>:1:1: warning PLUGIN_DEPRECATED_NAME old name\n');
  });

  it('reads the source through a path relative to the working directory', async () => {
    const dir = tmpTree({ 'p.yaml': SOURCE });
    const rel = relative(process.cwd(), join(dir, 'p.yaml'));
    const out = formatText([diag('SCHEMA_BAD_VALUE', { file: rel, line: 2, column: 10, endColumn: 15 }, 'bad version')]).split('\n');
    expect(out[1]).toBe('    2 | version: "4.0"');
    expect(out[2]).toBe(`      | ${' '.repeat(9)}^^^^^`);
  });
});

describe('formatJson', () => {
  it('has valid, files, error and warning counts, and every diagnostic with its location, code, layer, message and hint', () => {
    const e = diag('PARAM_UNKNOWN_KEY', { file: 'a.yaml', line: 6, column: 31, endColumn: 39 }, "unknown key 'treshold'", "Did you mean 'threshold'?");
    const w = diag('PLUGIN_DEPRECATED_NAME', { file: 'b.yaml', line: 8, column: 15 }, 'deprecated', "Use 'regime'.", 'warning');
    const text = formatJson(
      [
        { file: 'a.yaml', valid: false },
        { file: 'b.yaml', valid: true },
        { file: 'c.yaml', valid: true },
      ],
      [e, w],
    );
    expect(text.endsWith('\n')).toBe(true);
    const out = JSON.parse(text);
    expect(out).toEqual({
      valid: false,
      files: [
        { file: 'a.yaml', valid: false },
        { file: 'b.yaml', valid: true },
        { file: 'c.yaml', valid: true },
      ],
      errors: 1,
      warnings: 1,
      diagnostics: [
        { file: 'a.yaml', line: 6, column: 31, endColumn: 39, severity: 'error', code: 'PARAM_UNKNOWN_KEY', layer: 'plugins', message: "unknown key 'treshold'", hint: "Did you mean 'threshold'?" },
        { file: 'b.yaml', line: 8, column: 15, severity: 'warning', code: 'PLUGIN_DEPRECATED_NAME', layer: 'plugins', message: 'deprecated', hint: "Use 'regime'." },
      ],
    });
  });

  it('is valid when every file is', () => {
    const out = JSON.parse(formatJson([{ file: 'a.yaml', valid: true }], []));
    expect(out).toEqual({ valid: true, files: [{ file: 'a.yaml', valid: true }], errors: 0, warnings: 0, diagnostics: [] });
  });
});

describe('formatGithub', () => {
  it('writes one workflow command per diagnostic with file, line, col, endColumn and the code as title', () => {
    const e = diag('PARAM_UNKNOWN_KEY', { file: 'pipelines/a.yaml', line: 6, column: 31, endColumn: 39 }, "unknown key 'treshold'", "Did you mean 'threshold'?");
    const w = diag('PLUGIN_DEPRECATED_NAME', { file: 'pipelines/b.yaml', line: 8, column: 15 }, 'deprecated name');
    expect(formatGithub([e, w])).toBe(
      "::error file=pipelines/a.yaml,line=6,col=31,endColumn=39,title=PARAM_UNKNOWN_KEY::unknown key 'treshold'%0ADid you mean 'threshold'?\n" +
        '::error file=pipelines/b.yaml,line=8,col=15,title=PLUGIN_DEPRECATED_NAME::deprecated name\n',
    );
    expect(formatGithub([{ ...w, severity: 'warning' }])).toBe('::warning file=pipelines/b.yaml,line=8,col=15,title=PLUGIN_DEPRECATED_NAME::deprecated name\n');
    expect(formatGithub([])).toBe('');
  });

  it('escapes %, CR and LF in the message, and also : and , in properties', () => {
    const d = diag('REF_SET_INVALID', { file: '<command line: --set a,b=50%>', line: 1, column: 1 }, '100% wrong:\r\nsee: a, b', 'hint: 5%');
    const out = formatGithub([d]);
    expect(out).toBe('::error file=<command line%3A --set a%2Cb=50%25>,line=1,col=1,title=REF_SET_INVALID::100%25 wrong:%0D%0Asee: a, b%0Ahint: 5%25\n');
    // One line per command, whatever the message holds.
    expect(out.split('\n')).toHaveLength(2);
    // The runner's unescaping gives back the original text.
    const m = /^::error (.*?)::(.*)\n$/.exec(out)!;
    const props = Object.fromEntries(m[1].split(',').map((p) => [p.slice(0, p.indexOf('=')), unescapeProperty(p.slice(p.indexOf('=') + 1))]));
    expect(props.file).toBe('<command line: --set a,b=50%>');
    expect(unescapeData(m[2])).toBe('100% wrong:\r\nsee: a, b\nhint: 5%');
  });

  it('escapes % before the other escapes (an already-escaped-looking text survives)', () => {
    const d = diag('SCHEMA_BAD_VALUE', { file: 'a%0A.yaml', line: 1, column: 1 }, 'literal %0A and %3A');
    const out = formatGithub([d]);
    expect(out).toBe('::error file=a%250A.yaml,line=1,col=1,title=SCHEMA_BAD_VALUE::literal %250A and %253A\n');
  });

  it('escapes Windows-style paths with a drive colon', () => {
    const d = diag('FILE_EMPTY', { file: 'C:\\work\\p.yaml', line: 1, column: 1 }, 'empty');
    expect(formatGithub([d])).toBe('::error file=C%3A\\work\\p.yaml,line=1,col=1,title=FILE_EMPTY::empty\n');
  });
});
