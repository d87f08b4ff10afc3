/**
 * The yardstick of bench/origin: Debian's nginx serving the same segment files straight from the
 * storage folder, with the settings a careful operator would use for static media (1 worker,
 * sendfile, tcp_nopush, keep-alive, no access log, open file cache), from a config generated into a
 * temp folder. Listens on loopback only.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface StaticNginx {
  readonly port: number;
  /** The master process (its worker is its child). */
  readonly pid: number;
  stop(): Promise<void>;
}

export function nginxConfig(root: string, port: number, dir: string): string {
  // The account storage is private (0700); a root master must keep its worker able to read it.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  types { video/mp4 mp4 m4s; application/vnd.apple.mpegurl m3u8; }
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=10000 inactive=60s;
  open_file_cache_valid 60s;
  client_body_temp_path ${path.join(dir, 'client_body')};
  proxy_temp_path ${path.join(dir, 'proxy')};
  fastcgi_temp_path ${path.join(dir, 'fastcgi')};
  uwsgi_temp_path ${path.join(dir, 'uwsgi')};
  scgi_temp_path ${path.join(dir, 'scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { add_header Cache-Control "public, max-age=86400, immutable"; }
  }
}
`;
}

/** Starts nginx on `port` serving `root`; resolves once it accepts connections. */
export async function startStaticNginx(root: string, port: number, dir: string): Promise<StaticNginx> {
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(root, port, dir));
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGQUIT');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${readIfExists(path.join(dir, 'error.log'))}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status > 0, () => false);
    if (ok) return { port, pid: child.pid!, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`nginx did not answer on 127.0.0.1:${port} within 10 s: ${stderr}`);
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
