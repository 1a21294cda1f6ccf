// ESLint (flat config): the JavaScript recommended rules everywhere, typescript-eslint's
// type-aware rules (recommendedTypeChecked, plus a few of strictTypeChecked) for the
// TypeScript of src/, test/ and bench/ through tsconfig.json, and Node's globals for the few
// .js/.mjs files (bin/, test/reporters/, test/vagrant/), which no tsconfig covers.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'out/', '.vagrant/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test runs the tests that describe() and it() register, and waits for them; the
      // promises they return are not ours to await
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      // off: an async function without an await is how this code gives a Promise-typed slot
      // (a fake probe, a stage-error callback, a task body) a value or a rejection instead of
      // a synchronous throw
      '@typescript-eslint/require-await': 'off',
      // `const { manifest: _m, ...rest } = entry` leaves a property out of a copy on purpose
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // from strictTypeChecked: a .catch() callback gets whatever was thrown, not an Error
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
      '@typescript-eslint/no-unnecessary-type-arguments': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
