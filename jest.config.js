/** Unit suites run on the TypeScript sources (transpile only: `npm test` type-checks separately). */
const { dockerSuitesAvailability } = require('./test/docker/availability');

// The Docker suites need a daemon: where none can run, they are left out and the reason is printed.
const docker = dockerSuitesAvailability();
if (!docker.run) process.stderr.write(`jest: the Docker suites (test/docker) do not run: ${docker.reason}\n`);

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(docker.run ? [] : ['<rootDir>/test/docker/'])],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }] },
  globalSetup: '<rootDir>/test/global-setup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup-cdktf.ts'],
  testTimeout: 30000,
};
