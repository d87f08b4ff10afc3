/** Driver selection by name (`--driver local|docker|swarm`). */
import * as path from 'node:path';
import { Driver, DriverContext } from './driver';
import { LocalDriver } from './local';

export * from './driver';

export const DRIVER_KINDS = ['local', 'docker', 'swarm'] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

type DockerModule = {
  DockerDriver?: new (context: DriverContext) => Driver;
  createDockerDriver?: (context: DriverContext) => Driver | Promise<Driver>;
};

export async function createDriver(kind: DriverKind, context: DriverContext): Promise<Driver> {
  if (kind === 'local') return new LocalDriver(context);
  if (kind === 'swarm') return (require(path.join(__dirname, 'swarm')) as { createSwarmDriver: (c: DriverContext) => Driver }).createSwarmDriver(context);
  // Loaded on demand: the local driver (the default) must not pay for the Docker client.
  const docker = require(path.join(__dirname, 'docker')) as DockerModule;
  if (docker.createDockerDriver) return docker.createDockerDriver(context);
  if (docker.DockerDriver) return new docker.DockerDriver(context);
  throw new Error('the docker driver module exports neither createDockerDriver nor DockerDriver');
}
