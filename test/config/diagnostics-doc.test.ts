import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CODES } from '../../src/config/diagnostics.js';

test('every diagnostic code is documented with its layer in docs/diagnostics.md', () => {
  const doc = readFileSync(join(new URL('.', import.meta.url).pathname, '..', '..', 'docs', 'diagnostics.md'), 'utf8');
  for (const [code, layer] of Object.entries(CODES)) expect(doc).toContain(`| \`${code}\` | ${layer} |`);
});
