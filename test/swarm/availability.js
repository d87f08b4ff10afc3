/**
 * Whether the swarm suites (test/swarm) can run here, decided before jest collects tests (see
 * jest.config.js). They build the multi-host rig (scripts/rig/up.sh): Docker daemons in network
 * namespaces, a bridge, an iptables rule. In CI they always run, and fail if the rig cannot come up.
 * Elsewhere they need what the Docker suites need, plus root and the tools the rig uses; they are left
 * out with the reason printed otherwise.
 */
const { spawnSync } = require('node:child_process');
const { dockerSuitesAvailability } = require('../docker/availability');

function commandExists(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** @returns {{ run: boolean, reason: string }} */
function swarmSuitesAvailability(env = process.env) {
  if (env.CI === 'true') return { run: true, reason: 'CI=true: the swarm suites build the multi-host rig themselves' };
  const docker = dockerSuitesAvailability(env);
  if (!docker.run) return { run: false, reason: `the multi-host rig runs Docker daemons, and ${docker.reason}` };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) return { run: false, reason: 'the multi-host rig creates network namespaces, a bridge and Docker daemons: it needs root' };
  const missing = ['ip', 'nsenter', 'unshare', 'iptables', 'flock'].filter((name) => !commandExists(name));
  if (missing.length > 0) return { run: false, reason: `the multi-host rig needs ${missing.join(', ')} (apt-get install -y iproute2 util-linux iptables)` };
  return { run: true, reason: 'root, a Docker daemon and the rig tools are here' };
}

module.exports = { swarmSuitesAvailability };
