// Two projects: pure-logic unit tests, and integration tests on the local test bed
// (real apiserver, GitHub API emulator over real git, registry, buildah).
const shared = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: ['TS151001'] } }]
  }
}

export default {
  // Integration tests wait on real rollouts; a per-project timeout is not honoured by jest.
  testTimeout: 180000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'workflows',
      testMatch: ['<rootDir>/__tests__/workflows/**/*.test.ts'],
      globalSetup: '<rootDir>/test/jest/integration-setup.mjs',
      setupFiles: ['<rootDir>/test/jest/load-testbed-env.mjs'],
      setupFilesAfterEnv: ['<rootDir>/test/jest/openapi-fit.mjs']
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/jest/integration-setup.mjs',
      setupFiles: ['<rootDir>/test/jest/load-testbed-env.mjs'],
      setupFilesAfterEnv: ['<rootDir>/test/jest/openapi-fit.mjs']
    }
  ]
}
