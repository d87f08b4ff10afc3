/**
 * The nginx.conf of a channel's RTMP front door (nginx + Debian's libnginx-mod-rtmp). nginx only
 * accepts connections and moves packets; every decision (stream key, allow list, one publisher,
 * who may pull) is made by the workload's control server through nginx-rtmp's HTTP callbacks.
 *
 * Everything nginx writes (pid, temp folders, the stat socket) lives in a private working folder,
 * so it runs unprivileged, and its log goes to stderr at `warn`, below which nginx-rtmp would print
 * stream names — that is, stream keys.
 */
import * as path from 'node:path';
import { foregroundPreamble, httpTempPaths, listenAddress } from '../common/nginx';

/** Debian's path of the RTMP module (package libnginx-mod-rtmp). */
export const RTMP_MODULE_PATH = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** The only RTMP application: `rtmp://HOST:PORT/live/<stream key>`, as OBS and ffmpeg expect. */
export const RTMP_APPLICATION = 'live';

/** Paths of the control server that nginx-rtmp calls back. */
export const CALLBACK_PATHS = {
  publish: '/rtmp/publish',
  publishDone: '/rtmp/publish-done',
  play: '/rtmp/play',
} as const;

export interface NginxConfigInput {
  /** Private working folder (pid file, temp paths, stat socket). */
  readonly workDir: string;
  /**
   * Loopback port nginx-rtmp listens on, behind the workload's TCP front (common/tcp-front.ts), which
   * holds the public port, bounds what each client address can hold, and names the client in a PROXY
   * protocol header that nginx-rtmp reads (so callbacks and `allow play` see the real address).
   */
  readonly port: number;
  /** Loopback port of the control server. */
  readonly controlPort: number;
  /** Addresses allowed to play (pull) streams: the transcoder's. */
  readonly playFrom: readonly string[];
  /** @default RTMP_MODULE_PATH */
  readonly modulePath?: string;
}

/** Unix socket of the loopback-only HTTP server that serves nginx-rtmp's statistics (XML). */
export function statSocketPath(workDir: string): string {
  return path.join(workDir, 'stat.sock');
}

export function renderNginxConfig(input: NginxConfigInput): string {
  const callback = (p: string) => `http://127.0.0.1:${input.controlPort}${p}`;
  return [
    `load_module ${input.modulePath ?? RTMP_MODULE_PATH};`,
    // One worker: nginx-rtmp keeps each stream in the worker that accepted it.
    ...foregroundPreamble(input.workDir, 1),
    // Room beyond the front's 512 connections for the publish and play callbacks (HTTP, one connection each).
    'events { worker_connections 1024; }',
    '',
    'rtmp {',
    // The access log records stream names, which are stream keys.
    '  access_log off;',
    '  server {',
    `    listen ${listenAddress('127.0.0.1', input.port)} proxy_protocol;`,
    '    chunk_size 4096;',
    // Large enough for a 1080p key frame, small enough to bound what one client can make nginx buffer.
    '    max_message 8M;',
    '    ping 30s;',
    '    ping_timeout 15s;',
    // A publisher whose connection died silently must not hold the channel (one publisher at a time).
    '    drop_idle_publisher 10s;',
    '    notify_method post;',
    `    application ${RTMP_APPLICATION} {`,
    '      live on;',
    '      record off;',
    // Subscribers (the transcoder) are disconnected when the publisher leaves: ffmpeg sees the end of
    // its input and finishes its last segment cleanly, instead of waiting for packets forever.
    '      idle_streams off;',
    `      on_publish ${callback(CALLBACK_PATHS.publish)};`,
    `      on_publish_done ${callback(CALLBACK_PATHS.publishDone)};`,
    `      on_play ${callback(CALLBACK_PATHS.play)};`,
    ...input.playFrom.map((address) => `      allow play ${address};`),
    '      deny play all;',
    '    }',
    '  }',
    '}',
    '',
    'http {',
    '  access_log off;',
    ...httpTempPaths(input.workDir).map((line) => `  ${line}`),
    '  server {',
    `    listen unix:${statSocketPath(input.workDir)};`,
    '    location /stat { rtmp_stat all; }',
    '    location / { return 404; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

