/**
 * The environment every data-plane workload boots from: the names topology sets, drivers fill in and
 * the workloads read. Nothing else crosses from the control plane into a workload's process.
 */

/** Environment variables the data-plane programs read. */
export const ENV = {
  /** JSON of the workload's static config (part of the spec hash: a change replaces the workload). */
  config: 'LIVESTACK_CONFIG',
  /** JSON of the workload's live config at boot; later changes arrive in `<storage>/control/<name>.json`. */
  liveConfig: 'LIVESTACK_LIVE_CONFIG',
  /**
   * A file holding the live config, watched instead of `<storage>/control/<name>.json`: on Kubernetes a
   * mounted ConfigMap, which the cluster updates in place (the env would restart the pod).
   */
  liveConfigFile: 'LIVESTACK_LIVE_CONFIG_FILE',
  /** The account storage root. */
  storageDir: 'LIVESTACK_STORAGE_DIR',
  /** Address servers listen on: `0.0.0.0` in containers, the bind address on the local driver. */
  listenHost: 'LIVESTACK_LISTEN_HOST',
  /** This workload's name (for logs, control file, metrics). */
  workloadName: 'LIVESTACK_WORKLOAD',
} as const;

/** Environment variable through which a `variable` secret reaches its workload (never its value in a spec). */
export function secretEnvName(secretId: string): string {
  return `LIVESTACK_SECRET_${secretId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Environment variable through which the local driver tells a balancer where its upstreams listen. */
export const UPSTREAM_HOST_ENV = 'LIVESTACK_UPSTREAM_HOST';

/**
 * The origin's cache of encrypted hot segments: its size in MiB from this variable, else the default. A
 * cluster's memory limit for an origin leaves room for it.
 */
export const ORIGIN_CACHE = { env: 'LIVESTACK_ORIGIN_CACHE_MIB', defaultMiB: 256 } as const;
