// ESLint (typescript-eslint) for the project's TypeScript; Prettier owns the layout (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      '.e2e/**',
      '.gpu-kit/**',
      'runs/**',
      'scratch/**',
      'test-output/**',
      'schemas/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        require: 'readonly',
        __dirname: 'readonly',
        module: 'writable',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Prettier wraps code at 120 but never splits a string: long messages are split by hand.
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // CommonJS scripts; and the backends, whose packages load only when that backend is tried (a missing optional
    // native package is a message, not a crash at startup).
    files: ['**/*.js', 'src/trainer/backends.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Functions a reader can hold in mind. Tests are left out: a test reads top to bottom as one story.
    files: ['src/**/*.ts', 'webview/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }] },
  },
);
