/** Unit tests run anywhere; integration tests share one real kube-apiserver started in globalSetup. */
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
module.exports = {
  // Integration tests start real servers; their files also set their own timeouts.
  testTimeout: 300000,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
