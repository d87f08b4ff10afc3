/**
 * Checks of what the runtime needs on this machine, each with how to fix it: ffmpeg (with libx264),
 * nginx with the RTMP module (really loaded, in a throw-away config), the SRT listener (built and
 * linking), Docker (for --driver docker), the compiled CLI the local driver runs, and the ports (TCP
 * and UDP) an app would publish.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkloadSpec } from '../contract/workload-spec';
import { packageRoot } from '../util/package-root';
import { srtListenerBinary, srtListenerBuildCommand } from '../util/native-binaries';

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** A failed optional check is a warning, not an error. */
  readonly optional?: boolean;
  readonly detail: string;
  readonly fix?: string;
}

function run(command: string, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') }));
  });
}

export async function checkFfmpeg(): Promise<Check> {
  const version = await run('ffmpeg', ['-hide_banner', '-version']);
  const fix = 'sudo apt-get install -y ffmpeg';
  if (!version.ok) return { name: 'ffmpeg', ok: false, detail: 'ffmpeg not found on PATH', fix };
  const encoders = await run('ffmpeg', ['-hide_banner', '-encoders']);
  const first = version.output.split('\n')[0];
  if (!/libx264/.test(encoders.output)) return { name: 'ffmpeg', ok: false, detail: `${first}, but without the libx264 encoder`, fix: `${fix} (Debian's build includes libx264)` };
  return { name: 'ffmpeg', ok: true, detail: first };
}

/** Load the RTMP module in a throw-away config and let `nginx -t` judge it. */
export async function checkNginxRtmp(): Promise<Check> {
  const version = await run('nginx', ['-v']);
  if (!version.ok) return { name: 'nginx + RTMP module', ok: false, detail: 'nginx not found on PATH', fix: 'sudo apt-get install -y nginx libnginx-mod-rtmp' };
  if (!fs.existsSync(RTMP_MODULE)) return { name: 'nginx + RTMP module', ok: false, detail: `${version.output}, but no ${RTMP_MODULE}`, fix: 'sudo apt-get install -y libnginx-mod-rtmp' };
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-doctor-'));
  try {
    const conf = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(conf, [
      `load_module ${RTMP_MODULE};`, `pid ${prefix}/nginx.pid;`, `error_log ${prefix}/error.log;`,
      'events {}', 'rtmp { server { listen 127.0.0.1:1; application live { live on; } } }', '',
    ].join('\n'));
    const test = await run('nginx', ['-t', '-p', prefix, '-c', conf]);
    return test.ok
      ? { name: 'nginx + RTMP module', ok: true, detail: `${version.output}; ${RTMP_MODULE} loads` }
      : { name: 'nginx + RTMP module', ok: false, detail: `the module does not load: ${test.output.split('\n').slice(-2).join(' ')}`, fix: 'sudo apt-get install --reinstall -y nginx libnginx-mod-rtmp (same versions)' };
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

export async function checkDocker(): Promise<Check> {
  const server = await run('docker', ['version', '--format', '{{.Server.Version}}']);
  if (server.ok) return { name: 'Docker', ok: true, optional: true, detail: `Docker Engine ${server.output}` };
  const client = await run('docker', ['--version']);
  return {
    name: 'Docker', ok: false, optional: true,
    detail: client.ok ? `${client.output}, but the daemon does not answer (${server.output.split('\n')[0]})` : 'docker not found (needed only for --driver docker)',
    fix: client.ok ? 'start it: sudo systemctl start docker (or run dockerd)' : 'sudo apt-get install -y docker.io && sudo systemctl start docker',
  };
}

/** The SRT listener is built and its libraries load (without arguments it says what it requires, and exits). */
export async function checkSrtListener(): Promise<Check> {
  const binary = srtListenerBinary();
  const fix = `sudo apt-get install -y gcc libc6-dev pkg-config libsrt-gnutls-dev && ${srtListenerBuildCommand()}`;
  if (!fs.existsSync(binary)) return { name: 'SRT listener', ok: false, detail: `${binary} is missing (ingests of channels with SRT run it)`, fix };
  const probe = await run(binary, []);
  return /required/.test(probe.output)
    ? { name: 'SRT listener', ok: true, detail: binary }
    : { name: 'SRT listener', ok: false, detail: `${binary} does not run: ${probe.output.split('\n')[0]}`, fix };
}

export function checkCompiledCli(): Check {
  const cli = path.join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');
  return fs.existsSync(cli)
    ? { name: 'compiled CLI', ok: true, detail: cli }
    : { name: 'compiled CLI', ok: false, detail: `${cli} is missing (the local driver runs it)`, fix: 'npm run build' };
}

/** Published ports of the app: free, or held by the app's own workload (`owned`). */
export async function checkPorts(specs: readonly WorkloadSpec[], owned: ReadonlySet<string>): Promise<Check[]> {
  const checks: Check[] = [];
  for (const spec of specs) {
    for (const port of spec.ports) {
      const name = `port ${port.hostIp}:${port.hostPort}${port.protocol === 'udp' ? '/udp' : ''}`;
      if (owned.has(spec.name)) {
        checks.push({ name, ok: true, detail: `in use by this app's own ${spec.name}` });
        continue;
      }
      const error = port.protocol === 'udp' ? await tryBindUdp(port.hostPort, port.hostIp) : await tryListen(port.hostPort, port.hostIp);
      const ss = port.protocol === 'udp' ? 'ss -lunp' : 'ss -ltnp';
      checks.push(error
        ? { name, ok: false, detail: `${spec.name} needs it, but ${error}`, fix: `free it (find the holder: ${ss} 'sport = :${port.hostPort}') or change the port in the app` }
        : { name, ok: true, detail: `free for ${spec.name}` });
    }
  }
  return checks;
}

function tryBindUdp(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'it is in use' : `it cannot be bound (${error.code})`));
    socket.bind(port, host, () => socket.close(() => resolve(undefined)));
  });
}

function tryListen(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'it is in use' : `it cannot be bound (${error.code})`));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}
