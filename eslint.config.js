// Lint rules: typescript-eslint's recommended set, plus the one architectural
// rule we can check mechanically: the pure core never imports I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ioModules = [
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:net',
  'node:http',
  'node:https',
  'dockerode',
  'pg',
  'ioredis',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'images/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/platform-spec/**', 'src/model/**', 'src/compose/**', 'src/plan/**', 'src/render/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ioModules.map((name) => ({ name, message: 'The pure core does no I/O.' })) },
      ],
    },
  },
);
