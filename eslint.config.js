// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Workflow code is replayed by Temporal and must be deterministic: no I/O clients, no Node
// built-ins, no activity or adapter implementations (type-only imports are fine).
const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`, `${name}/*`, `node:${name}/*`]);
const workflowForbidden = {
  paths: [...nodeBuiltins, 'kafkajs', 'mongodb', 'zod', 'yaml'].map((name) => ({
    name,
    message: 'workflow and domain code must stay deterministic: no Node built-ins or I/O clients',
    allowTypeImports: true,
  })),
  patterns: [
    {
      group: ['**/adapters', '**/adapters/**', '**/activities', '**/activities/**', '**/config', '**/config.js', '**/sim/**'],
      message: 'workflow and domain code may only import activity/adapter types (import type)',
      allowTypeImports: true,
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test registers these synchronously; their returned promises are the runner's.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // One way in for clients: src/adapters/clients.ts opens Kafka from the configuration, and
    // only the adapters use kafkajs (workflow, domain and page code have their stricter rule below).
    files: ['src/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/adapters/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: 'reach Kafka through src/adapters (clients.ts, topic-reader.ts)' }] }],
    },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowForbidden] },
  },
  {
    // The fleet page's pages, rows, query parameters and event hub are pure: data in, HTML or data
    // out. I/O (the store, Temporal, Kafka, the HTTP server) stays in adapters and src/ui/server.ts.
    files: ['src/ui/**/*.ts'],
    ignores: ['src/ui/server.ts', 'src/ui/security.ts'],
    rules: { 'no-restricted-imports': ['error', workflowForbidden] },
  },
  {
    // Only src/config.ts reads the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through src/config.ts' }],
    },
  },
  {
    // A hook without a deadline can hang the suite (and CI) for ever: each names its bound.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.name=/^(before|after|beforeEach|afterEach)$/][arguments.length<2]',
          message: 'give every hook a bound: before(fn, setupBound) / after(fn, cleanupBound) from test/helpers/bounded.ts',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
