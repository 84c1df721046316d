/**
 * Three projects: `unit` (pure logic: no services, no root), `integration` (real PostgreSQL and
 * the daemon's REST endpoints, no containers: *.int-spec.ts) and `runtime` (real containers and
 * cgroups, root only).
 */
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  moduleNameMapper: {
    '^@lodge/(runtime|common|state|config|image|storage|api-types|instance|network|nova)(|/.*)$': '<rootDir>/libs/$1/src$2',
  },
  rootDir: __dirname,
};

module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
      testPathIgnorePatterns: ['\\.real\\.spec\\.ts$'],
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/libs/**/*.int-spec.ts', '<rootDir>/apps/**/*.int-spec.ts', '<rootDir>/test/integration/**/*.int-spec.ts'],
    },
    {
      ...base,
      displayName: 'runtime',
      // real kernel objects, root only: container tests and the real-cgroup tests of the backends
      testMatch: ['<rootDir>/test/runtime/**/*.e2e-spec.ts', '<rootDir>/apps/**/*.e2e-spec.ts', '<rootDir>/libs/**/*.real.spec.ts'],
      globalSetup: '<rootDir>/test/runtime/global-setup.ts',
    },
  ],
  // A project entry cannot set this (jest reads it from the root only): real containers,
  // databases and the daemon take seconds, never minutes.
  testTimeout: 60000,
};
