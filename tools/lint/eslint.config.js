// typescript-eslint's recommended rules (without type information: fast, and what the project's code passes today).
// This package is kept apart from the project's TypeScript 7: typescript-eslint needs the TypeScript JS API (<= 6.0).
// Run from the project root: `npm run lint`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', '**/node_modules/**', 'tools/**', 'runs/**', 'lakehouse/**', 'coverage/**', '.dist-tmp-*/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    rules: {
      // A leading underscore says "unused on purpose" (an interface's argument, a key dropped from a copy).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Counted, not yet refused: the plugin contracts no longer use `any` (typed params and contexts, issue 12); what
      // is left is in tests and three helpers. `npm run lint` allows no more than today's count (--max-warnings 22 in
      // package.json), so none is added meanwhile.
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
);
