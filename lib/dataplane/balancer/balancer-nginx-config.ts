/**
 * The nginx.conf of a balancer: nginx carries every player request to an origin replica (round robin,
 * keep-alive connections to the replicas, the next replica tried when one refuses or times out, the
 * client appended to X-Forwarded-For, bodies streamed), because a hop through nginx costs a fraction
 * of the CPU a hop through Node does (see bench/balancer). The workload's control server answers
 * /healthz and /metrics behind it, and reads nginx's access log for the metrics.
 *
 * Everything nginx writes (pid, temp folders, access log) lives in a private working folder, so it
 * runs unprivileged.
 */
import { BALANCER_PROOF_HEADER } from '../../contract/forwarding';
import * as path from 'node:path';
import { foregroundPreamble, httpTempPaths, listenAddress } from '../common/nginx';

export interface UpstreamServer {
  /** `ip:port` (nginx resolves names only once, at start: the control process resolves them). */
  readonly address: string;
  /** False once it has failed several health probes in a row: nginx then sends it nothing. */
  readonly up: boolean;
}

export interface BalancerNginxInput {
  /** Private working folder (pid file, temp paths). */
  readonly workDir: string;
  /** Address the endpoint listens on (`0.0.0.0` in containers). */
  readonly listenHost: string;
  readonly port: number;
  /** Loopback port of the control server (/healthz, /metrics). */
  readonly controlPort: number;
  readonly upstreams: readonly UpstreamServer[];
  /** Proof that a request came through this balancer (contract/forwarding.ts); replicas ignore X-Forwarded-For without it. */
  readonly proofToken: string;
}

/** Where a replica is known nowhere yet: nginx needs a server in an upstream block; this one is never used. */
const PLACEHOLDER_SERVER = 'server 127.0.0.1:9 down;';

/** Fields of each access log line, parsed by access-log-metrics.ts. */
export const ACCESS_LOG_FORMAT = '$status $body_bytes_sent $request_time "$upstream_addr" "$upstream_status"';

/** The access log nginx writes in its working folder (read by access-log-metrics.ts). */
export function accessLogPath(workDir: string): string {
  return path.join(workDir, 'access.log');
}

export function renderBalancerNginxConfig(input: BalancerNginxInput): string {
  const control = `http://127.0.0.1:${input.controlPort}`;
  // With every replica believed down, nginx still tries them all rather than failing every request.
  const allDown = input.upstreams.every((u) => !u.up);
  const servers = input.upstreams.length === 0
    ? [PLACEHOLDER_SERVER]
    : input.upstreams.map((u) => `server ${u.address} max_fails=1 fail_timeout=2s${u.up || allDown ? '' : ' down'};`);
  return [
    // A scaled endpoint exists to add capacity: one worker per core, so the balancer is not the ceiling.
    ...foregroundPreamble(input.workDir, 'auto'),
    'events { worker_connections 4096; }',
    '',
    'http {',
    '  server_tokens off;',
    ...httpTempPaths(input.workDir).map((line) => `  ${line}`),
    `  log_format livestack '${ACCESS_LOG_FORMAT}';`,
    // Buffered: one write per 64 KiB or per second, not one per request.
    `  access_log ${accessLogPath(input.workDir)} livestack buffer=64k flush=1s;`,
    '  keepalive_timeout 65s;',
    '  keepalive_requests 10000;',
    '  upstream origin_replicas {',
    // Shared by the workers: one round robin and one view of failed replicas, not one per worker.
    '    zone origin_replicas 64k;',
    ...servers.map((s) => `    ${s}`),
    '    keepalive 64;',
    '  }',
    '  server {',
    `    listen ${listenAddress(input.listenHost, input.port)} backlog=4096;`,
    `    location = /healthz { access_log off; proxy_pass ${control}; }`,
    `    location = /metrics { access_log off; proxy_pass ${control}; }`,
    '    location / {',
    '      proxy_pass http://origin_replicas;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    // Replicas apply the endpoint's allow list to the last X-Forwarded-For hop (the address nginx appends
    // here), and believe it only with the proof, which this line sets whatever a client sent.
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    `      proxy_set_header ${BALANCER_PROOF_HEADER} ${input.proofToken};`,
    // Passive failover: a replica that refuses or does not connect in time costs the player nothing.
    // Connecting on loopback or a bridge takes well under a millisecond: half a second means it is gone.
    '      proxy_next_upstream error timeout;',
    '      proxy_connect_timeout 500ms;',
    '      proxy_read_timeout 60s;',
    // Segments stay in memory on their way (no temp files); request bodies are streamed as they come.
    '      proxy_buffers 64 16k;',
    '      proxy_max_temp_file_size 0;',
    '      proxy_request_buffering off;',
    '      client_max_body_size 16m;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

