/**
 * Unit tests run anywhere; integration tests share one real kube-apiserver started in globalSetup; setup tests
 * use the repository as a user would (the packed package, Jest's own exit). Every project stops what a test
 * file started and left running (test/harness/teardown.ts).
 */
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
const project = (displayName, extra = {}) => ({
  displayName,
  testMatch: [`<rootDir>/test/${displayName}/**/*.test.ts`],
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
  setupFilesAfterEnv: ['<rootDir>/test/harness/teardown.ts'],
  ...extra,
});
module.exports = {
  // Integration tests start real servers; their files also set their own timeouts.
  testTimeout: 300000,
  projects: [
    project('unit'),
    project('integration', {
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    }),
    project('setup'),
  ],
};
