/**
 * Starting data-plane workloads for the origin and key e2e suites: the exact specs topology() makes,
 * run as `livestack dataplane <role>` child processes on loopback with the account storage in a temp
 * folder, each with its log in a file the tests can read (to assert what is never logged).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest, manifest as manifestSchema } from '../../lib/model/manifest';
import { topology, WorkloadSpec } from '../../lib/topology';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'bin', 'livestack');

/** A TCP port nobody listens on right now (asked of the OS). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `livestack-${prefix}-`));
}

export interface RunningWorkloads {
  readonly specs: WorkloadSpec[];
  readonly storageDir: string;
  /** Everything a workload wrote to stdout and stderr so far. */
  logs(name: string): string;
  allLogs(): string;
  stop(): Promise<void>;
}

/**
 * Validates the manifest, computes its topology and starts every workload of the given roles;
 * resolves once each answers its health check (bounded).
 */
export async function startWorkloads(
  plain: unknown,
  options: { storageDir: string; roles?: string[]; env?: Record<string, string> },
): Promise<RunningWorkloads> {
  const parsed: Manifest = manifestSchema.parse(plain);
  const specs = topology(parsed).filter((s) => !options.roles || options.roles.includes(s.role));
  const logDir = tempDir('logs');
  const children: { spec: WorkloadSpec; child: ChildProcess; logFile: string }[] = [];
  const stop = async () => {
    await Promise.all(children.map(({ child }) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    })));
  };
  try {
    for (const spec of specs) {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...spec.env,
        LIVESTACK_STORAGE_DIR: options.storageDir,
        LIVESTACK_LISTEN_HOST: '127.0.0.1',
        LIVESTACK_UPSTREAM_HOST: '127.0.0.1',
        ...options.env,
      };
      for (const [name, variable] of Object.entries(spec.secretEnv)) env[name] = process.env[`TF_VAR_${variable}`] ?? options.env?.[`TF_VAR_${variable}`];
      const logFile = path.join(logDir, `${spec.name}.log`);
      const out = fs.openSync(logFile, 'a');
      const child = spawn(process.execPath, [CLI, 'dataplane', spec.role], { env, stdio: ['ignore', out, out] });
      fs.closeSync(out);
      children.push({ spec, child, logFile });
    }
    await Promise.all(children.map(({ spec, child, logFile }) => waitHealthy(spec, child, logFile)));
  } catch (error) {
    await stop();
    throw error;
  }
  const logs = (name: string) => {
    const found = children.find((c) => c.spec.name === name);
    return found ? fs.readFileSync(found.logFile, 'utf8') : '';
  };
  return {
    specs,
    storageDir: options.storageDir,
    logs,
    allLogs: () => children.map((c) => fs.readFileSync(c.logFile, 'utf8')).join('\n'),
    stop: async () => {
      await stop();
      fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}

async function waitHealthy(spec: WorkloadSpec, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${spec.name} exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8')}`);
    const ok = await new Promise<boolean>((resolve) => {
      http.get(spec.healthCheck.httpUrl, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${spec.name} did not become healthy within 20 s: ${fs.readFileSync(logFile, 'utf8')}`);
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** GET with the path sent exactly as given (no normalisation of `..` or percent-escapes). */
export function rawGet(port: number, requestPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: requestPath, method, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${requestPath}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
