/**
 * Two tiers. `unit`: no processes, no network, no Docker (npm run test:unit, under 30 s). `integration`:
 * real processes, ffmpeg, nginx, Docker, Chromium (test/integration, test/e2e, test/docker, test/swarm).
 * `npm test` runs both, unit first; LIVESTACK_TIER picks one. Suites run on the TypeScript sources (transpile only: `npm test`
 * type-checks separately).
 */
const { dockerSuitesAvailability } = require('./test/docker/availability');
const { swarmSuitesAvailability } = require('./test/swarm/availability');

const SLOW = ['<rootDir>/test/integration/', '<rootDir>/test/e2e/', '<rootDir>/test/docker/', '<rootDir>/test/swarm/'];

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
    // jose is an ES module only; jest's registry is CommonJS, so unit suites of the key service need it compiled.
    '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-cdktf.ts'],
};

/**
 * `npm test` runs the integration tier as two lanes at once (scripts/test.sh), since most suites wait
 * on real time (encoders push at -re, players play) rather than on the CPU. The `engines` lane holds
 * what must not overlap with itself: the Docker and Swarm suites (one daemon, shared images, network
 * namespaces) and the suites on the examples' fixed ports (1935, 8080, 8090); every other suite uses
 * free ports and its own temp dirs, and runs in the `host` lane. LIVESTACK_LANE unset: every suite.
 */
const ENGINE_LANE = [
  '<rootDir>/test/docker/', '<rootDir>/test/swarm/',
  '<rootDir>/test/e2e/npm-start.test.ts', '<rootDir>/test/e2e/npm-pack.test.ts',
  '<rootDir>/test/e2e/examples-end-to-end.test.ts', '<rootDir>/test/e2e/local-acceptance.test.ts',
  // On free ports, but here to even the lanes out (engines ~790 s, host ~920 s without it).
  '<rootDir>/test/e2e/ingest.test.ts',
];
/**
 * The `quiet` lane runs after the other two, alone: suites that hold livestack to timing targets (a
 * blocking reload answered within 100 ms of its part, p99 of other requests <= 20 ms with 500 held;
 * an SRT encoder in within 2 s past a handshake flood, a first segment within 4 s of a connect; the
 * user-space lossy relay's timing). Beside a lane building images or running a swarm, the host set
 * those figures instead (seen: a 14-ms p99 without held requests and 94 ms with them while `docker build`
 * ran). (An SRT packet once given up in CI was the encoder closing without linger, not load: see
 * ingest-srt.test.ts.)
 */
const QUIET_LANE = ['<rootDir>/test/e2e/low-latency.test.ts', '<rootDir>/test/e2e/low-latency-balancer.test.ts', '<rootDir>/test/e2e/ingest-srt.test.ts'];
const lane = process.env.LIVESTACK_LANE;
if (lane !== undefined && !['engines', 'host', 'quiet'].includes(lane)) throw new Error(`LIVESTACK_LANE must be engines, host or quiet, not ${lane}`);
const laneIgnore = lane === 'host' ? [...ENGINE_LANE, ...QUIET_LANE] : [];
const globsOf = (paths) => paths.map((p) => (p.endsWith('/') ? `${p}**/*.test.ts` : p));
/** The engines or quiet lane's suites as globs: a folder's test files, or the file itself. */
const laneOnly = lane === 'engines' ? globsOf(ENGINE_LANE) : lane === 'quiet' ? globsOf(QUIET_LANE) : undefined;

function integration() {
  // The Docker suites need a daemon: where none can run, they are left out and the reason is printed.
  const docker = dockerSuitesAvailability();
  if (!docker.run) process.stderr.write(`jest: the Docker suites (test/docker) do not run: ${docker.reason}\n`);
  // The swarm suites build the multi-host rig (several daemons in network namespaces): root as well.
  const swarm = swarmSuitesAvailability();
  if (!swarm.run) process.stderr.write(`jest: the swarm suites (test/swarm) do not run: ${swarm.reason}\n`);
  return {
    ...common,
    displayName: 'integration',
    testMatch: laneOnly ?? SLOW.map((dir) => `${dir}**/*.test.ts`),
    testPathIgnorePatterns: [
      '/node_modules/',
      ...(docker.run ? [] : ['<rootDir>/test/docker/']),
      ...(swarm.run ? [] : ['<rootDir>/test/swarm/']),
      ...laneIgnore,
    ],
    // End-to-end suites spawn bin/livestack, which runs the compiled dist/.
    globalSetup: '<rootDir>/test/global-setup.ts',
  };
}

const unit = { ...common, displayName: 'unit', testPathIgnorePatterns: ['/node_modules/', ...SLOW] };

/** LIVESTACK_TIER=unit|integration picks one tier (npm run test:unit, scripts/test.sh); unset: both. */
const tier = process.env.LIVESTACK_TIER;
if (tier !== undefined && tier !== 'unit' && tier !== 'integration') throw new Error(`LIVESTACK_TIER must be unit or integration, not ${tier}`);

module.exports = {
  // A global option: jest ignores testTimeout inside a project (suites there ran with jest's 5-s default).
  // Integration suites spawn compilers and processes, so a test without its own bound gets 30 s.
  testTimeout: tier === 'unit' ? 10000 : 30000,
  projects: [
    ...(tier === 'integration' ? [] : [unit]),
    // Only probed (Docker availability) when integration suites may run.
    ...(tier === 'unit' ? [] : [integration()]),
  ],
};
