/**
 * The Docker Engine API client of the docker driver: where the engine is (DOCKER_HOST of the runtime's
 * environment, else the default socket), one keep-alive connection pool that `close()` releases, and
 * the engine's error codes as questions.
 */
import * as http from 'node:http';
import Docker from 'dockerode';

export interface DockerConnection {
  readonly docker: Docker;
  /** Where the engine was reached, for messages. */
  readonly address: string;
  /** Close pooled connections: nothing keeps the process alive afterwards. */
  close(): void;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * A client for the engine named by `env.DOCKER_HOST`. When that is the process's own DOCKER_HOST (the
 * usual case), docker-modem reads it with everything it supports (TLS, ssh); another environment may
 * name a `unix://` socket or a plain `tcp://` address.
 */
export function connectDocker(env: NodeJS.ProcessEnv): DockerConnection {
  // Observe inspects every container on every pass: reuse connections instead of opening one each.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const host = env.DOCKER_HOST;
  let docker: Docker;
  let address: string;
  if (!host) {
    docker = new Docker({ socketPath: DEFAULT_SOCKET, agent } as Docker.DockerOptions);
    address = `unix://${DEFAULT_SOCKET}`;
  } else if (host.startsWith('unix://')) {
    docker = new Docker({ socketPath: host.slice('unix://'.length) || DEFAULT_SOCKET, agent } as Docker.DockerOptions);
    address = host;
  } else if (host === process.env.DOCKER_HOST) {
    docker = new Docker();
    address = host;
  } else if (host.startsWith('tcp://')) {
    const url = new URL(host);
    docker = new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http', agent } as Docker.DockerOptions);
    address = host;
  } else {
    throw new Error(`DOCKER_HOST=${host}: the docker driver takes unix:// or tcp:// addresses here (set it in the environment of livestack for ssh or TLS)`);
  }
  return { docker, address, close: () => agent.destroy() };
}

/** The HTTP status of an Engine API error (404 no such object, 409 conflict, 304 already so). */
export function engineStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message of an API error, without dockerode's "(HTTP code ...)" prefix. */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Whether the engine answers at all (for clear errors and for tests deciding whether to run). */
export async function engineAnswers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}
