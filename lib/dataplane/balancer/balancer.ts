/**
 * A balancer: nginx on the endpoint's port carrying requests to the origin replicas, and the control
 * process around it that resolves and probes the replicas (reconfiguring nginx when they move or
 * change health), serves /healthz and /metrics, and turns nginx's access log into metrics.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '../common/log';
import { AccessLogMetrics } from './access-log-metrics';
import { BalancerNginxInput, UpstreamServer, accessLogPath, renderBalancerNginxConfig } from './balancer-nginx-config';
import { ControlServer } from './control-server';
import { NginxProcess } from '../common/nginx';
import { ReplicaSet, ReplicaTarget } from './replica-set';

export interface BalancerOptions {
  readonly workloadName: string;
  readonly listenHost: string;
  readonly port: number;
  readonly replicas: readonly ReplicaTarget[];
  readonly log: Logger;
  /** @default Debian's /usr/sbin/nginx, else `nginx` on PATH */
  readonly nginxBinary?: string;
  /** How often replicas are resolved and probed. @default 1000 */
  readonly probeIntervalMs?: number;
  /** Sent to replicas with every request: their proof that it came through this balancer. */
  readonly proofToken: string;
}

export class Balancer {
  readonly replicas: ReplicaSet;
  private readonly control: ControlServer;
  private readonly accessLog: AccessLogMetrics;
  private readonly nginx: NginxProcess;
  private readonly workDir: string;
  private config?: Omit<BalancerNginxInput, 'upstreams'>;

  constructor(private readonly options: BalancerOptions) {
    const { log } = options;
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-balancer-'));
    this.replicas = new ReplicaSet(options.replicas, {
      intervalMs: options.probeIntervalMs,
      onStateChange: (replica, previous) => {
        if (replica.state === 'up') log.info(`origin replica ${replica.label} is up${previous === 'down' ? ' again' : ''}`);
        else log.error(`origin replica ${replica.label} is down (${replica.lastError ?? 'no answer'}); requests go to the others`);
      },
      onServersChange: (servers) => this.reconfigure(servers),
    });
    this.control = new ControlServer(this.replicas, options.workloadName);
    this.nginx = new NginxProcess(this.workDir, log, options.nginxBinary);
    this.accessLog = new AccessLogMetrics(
      this.control.metrics,
      accessLogPath(this.workDir),
      (address) => this.replicas.byAddress(address)?.label ?? address,
      () => this.nginx.reopenLogs(),
    );
  }

  /** Why nginx stopped, if it stops unasked: the workload cannot serve without it. */
  nginxDied(): Promise<string> {
    return this.nginx.died();
  }

  /** Probe the replicas once, then start nginx on the endpoint's port; resolves when it listens. */
  async start(): Promise<void> {
    const controlPort = (await this.control.listen('127.0.0.1', 0)).port;
    this.config = { workDir: this.workDir, listenHost: this.options.listenHost, port: this.options.port, controlPort, proofToken: this.options.proofToken };
    // The first round decides the first config; later changes reload nginx (see reconfigure).
    await this.replicas.start();
    await this.nginx.start(renderBalancerNginxConfig({ ...this.config, upstreams: this.replicas.servers() }), this.options.listenHost, this.options.port);
    this.accessLog.start();
  }

  async stop(): Promise<void> {
    this.replicas.stop();
    await this.nginx.stop();
    this.accessLog.stop();
    await this.control.close();
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  private reconfigure(servers: UpstreamServer[]): void {
    // Before start() has rendered the first config there is nothing to reload.
    if (!this.config) return;
    const described = servers.map((s) => `${s.address}${s.up ? '' : ' (down)'}`).join(', ') || 'none reachable';
    this.options.log.info(`reloaded nginx: origin replicas ${described}`);
    this.nginx.reload(renderBalancerNginxConfig({ ...this.config, upstreams: servers }));
  }
}
