// ESLint with type information (typescript-eslint), formatting left to Prettier (eslint-config-prettier).
// The async rules are the point: in lease and checkpoint code a promise nobody awaits is an error nobody sees.
// They stay errors everywhere (lib, test, bench, scripts): a deliberate exception is an eslint-disable comment
// that says why, on the line.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The rules that flag values typed `any`. Noise where there are no types to check against (see below).
const noUnsafeAny = {
  '@typescript-eslint/no-unsafe-argument': 'off',
  '@typescript-eslint/no-unsafe-assignment': 'off',
  '@typescript-eslint/no-unsafe-call': 'off',
  '@typescript-eslint/no-unsafe-member-access': 'off',
  '@typescript-eslint/no-unsafe-return': 'off',
};

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', '.kcl/**', '.ci/**', 'bench/.build/**', 'bench/results/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            '*.mjs',
            'scripts/*.js',
            'lib/engines/kcl/relay.js',
            'test/e2e/partition-bridge.js',
            'jest.config.js',
            'test/support/*.js',
          ],
          // The plain .js files (scripts, jest's environment, sequencer and reporter) are in no tsconfig.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Passing on a caught error (typed unknown) as a rejection is what Promise.reject(error) in a catch is for; the rule
      // is kept for rejections made up on the spot (a string, an object).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // `_name` marks a parameter a signature needs but the body does not use, or a property left out of a rest object.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Plain JavaScript run by node as it is, with no build: the relay the Java daemon starts (lib/engines/kcl/relay.js),
    // the jar provisioning script (npm pretest, shipped in the package), the partition suite's bridge. CommonJS by design,
    // and with no type annotations every require() and process.argv value is `any` to the checker: the no-unsafe-* rules
    // would flag every line and find nothing. The async rules still apply.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      ...noUnsafeAny,
      '@typescript-eslint/no-require-imports': 'off',
      // A CommonJS file's top level is its module's scope: `const crypto = require('node:crypto')` there does not replace
      // the global crypto, though the parser, which knows scripts and modules only, sees a global redeclaration.
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  {
    // Tests and the bench read JSON from the emulators, raw DynamoDB items and stubbed SDK commands: `any` is the honest
    // type there, and narrowing each access would only add casts. lib/ keeps the no-unsafe-* rules: it is the product.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { ...noUnsafeAny, '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
