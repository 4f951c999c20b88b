// Mutation testing of the pure decision modules (`npm run test:mutation`; one module:
// `npm run test:mutation -- --mutate src/kube/policy.ts`). Not in CI: a full run takes hours
// on 2 cores (README, Mutation testing). Reports go to reports/mutation/ (not committed); the
// incremental file lets a re-run test only the mutants whose code or tests changed. Equivalent
// mutants that survive are listed with their reason in test/mutation/equivalent.md.
export default {
  testRunner: 'jest',
  jest: { configFile: 'jest.unit.config.js', enableFindRelatedTests: true },
  // Jest runs ESM tests only under --experimental-vm-modules.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  // ESM jest workers grow by about 1 GB a minute when reused without limit.
  maxTestRunnerReuse: 20,
  concurrency: 2,
  coverageAnalysis: 'perTest',
  mutate: [
    'src/kube/rollout/status.ts',
    'src/kube/rollout/signals.ts',
    'src/gitops/scalar.ts',
    'src/gitops/edit.ts',
    'src/gitops/locate.ts',
    'src/image/reference.ts',
    'src/config/config.ts',
    'src/build/argv.ts',
    'src/host/redactor.ts',
    'src/kube/policy.ts',
    'src/lib/descriptors.ts',
    'src/kube/drift.ts',
    'src/kube/inventory.ts',
    'src/pipeline/decide.ts'
  ],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: null },
  tempDirName: 'reports/mutation/.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 20000
}
