// Lint for src/, test/, bench/ and scripts/: typescript-eslint's type-aware rules, prettier for layout, and the
// import boundaries that keep the folders an architecture (docs/architecture.md).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Folders a folder of src/ may not import, with the reason shown in the lint error. */
const boundary = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});
const RUNTIME = { group: ['**/job/*', '**/job'], message: 'constructs and config never import the Job runtime: share src/contract only' };
const SYNTH = {
  group: ['**/constructs/*', '**/config/*', '**/imports/*', 'cdk8s', 'cdk8s-plus-28', 'constructs', 'ajv'],
  message: 'the Job runtime never imports synth-time code: share src/contract only',
};
const CONSTRUCTS = { group: ['**/constructs/*'], message: 'the configuration never imports the constructs' };
const OUTSIDE = { group: ['../*', '../**'], message: 'src/contract imports nothing outside itself' };
/** Inside src/job: the GitHub and Kubernetes clients are leaves, an event's handling never reaches into the reconciler. */
const JOB_TOP = { group: ['../main', '../input'], message: 'the folders of src/job never import its entry point or its env decoding' };
const fromJob = (folder, why) => ({ group: [`../${folder}`, `../${folder}/*`], message: why });
const CLIENT = 'src/job/github/ and src/job/kube/ are clients: they import neither each other nor event/ or reconcile/';
const SUBFOLDERS = { group: ['./*/*'], message: 'retry.ts, log.ts, clock.ts and errors.ts are shared by every folder of src/job and import none' };

export default tseslint.config(
  { ignores: ['dist/', 'lib/', 'imports/', 'node_modules/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.json', './test/tsconfig.json', './bench/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      // GitHub's and Kubernetes' JSON is read as `any` at the edges, then checked.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // Fakes and stand-ins implement async interfaces without awaiting anything.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  boundary(['src/constructs/**', 'src/config/**'], [RUNTIME]),
  boundary(['src/config/**'], [RUNTIME, CONSTRUCTS]),
  boundary(['src/job/**'], [SYNTH]),
  boundary(['src/job/github/**'], [SYNTH, JOB_TOP, ...['kube', 'event', 'reconcile'].map((f) => fromJob(f, CLIENT))]),
  boundary(['src/job/kube/**'], [SYNTH, JOB_TOP, ...['github', 'event', 'reconcile'].map((f) => fromJob(f, CLIENT))]),
  boundary(['src/job/event/**'], [SYNTH, { group: ['../main'], message: JOB_TOP.message }, fromJob('reconcile', 'an event is handled without the reconciler: src/job/reconcile/ builds on src/job/event/, not the reverse')]),
  boundary(['src/job/reconcile/**'], [SYNTH, { group: ['../main'], message: JOB_TOP.message }]),
  boundary(['src/job/retry.ts', 'src/job/log.ts', 'src/job/clock.ts', 'src/job/errors.ts'], [SYNTH, SUBFOLDERS]),
  boundary(['src/contract/**'], [OUTSIDE]),
  prettier,
);
