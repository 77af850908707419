// ESLint (flat config) for every JavaScript file of the project: the pages' ES modules, the UMD
// scripts shared by Node, Chromium and the pages (the proof runner and its adapters), and the Node
// scripts. `make lint` and the test suite run it.
'use strict';

const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  { ignores: ['node_modules/', '.venv/', 'artifacts/', 'test-artifacts/', 'build/', 'dist/'] },
  js.configs.recommended,
  {
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': ['error', { destructuring: 'all' }],
      'no-var': 'error',
    },
  },
  {
    // The pages and the benchmark page script: ES modules in the browser.
    files: ['web/static/**/*.js', 'harness/page_tools.js', 'tests/page_checks.js', 'benchmarks/model_page_timing.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    // Scripts loaded both by Node (require) and by pages (a global): UMD wrappers.
    files: ['export/proof.js', 'export/litert-proof.js', 'export/chromium_harness.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, ...globals.node } },
  },
  {
    // Node.js scripts (CommonJS), and this file.
    files: ['export/node_proof.js', 'export/locate.js', 'benchmarks/zoo_routes.js', 'tests/repeat_runtime.js', 'tests/slow_runtime.js',
      'tests/given_outputs_runtime.js',
      'eslint.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
];
