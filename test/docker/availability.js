/**
 * Whether the Docker suites (test/docker) can run here, decided before jest collects tests (see
 * jest.config.js). In CI they always run: they install and start what they need (scripts/setup.sh
 * --with docker, scripts/docker-env.sh) and fail if they cannot. Elsewhere they run when a Docker
 * daemon answers or can be started (root and dockerd installed), and are left out with the reason
 * printed otherwise.
 */
const { spawnSync } = require('node:child_process');

function commandExists(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** @returns {{ run: boolean, reason: string }} */
function dockerSuitesAvailability(env = process.env) {
  if (env.CI === 'true') return { run: true, reason: 'CI=true: the Docker suites install and start Docker themselves' };
  if (commandExists('docker') && spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0) {
    return { run: true, reason: 'a Docker daemon answers' };
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && commandExists('dockerd')) return { run: true, reason: 'no daemon answers yet, but dockerd is installed and this is root: the suites start it' };
  const why = !commandExists('dockerd')
    ? 'dockerd is not installed (apt-get install docker.io debootstrap, or bash scripts/setup.sh --with docker)'
    : 'starting it needs root (or start it yourself: sudo systemctl start docker)';
  return { run: false, reason: `no Docker daemon answers and none can be started here: ${why}` };
}

module.exports = { dockerSuitesAvailability };
