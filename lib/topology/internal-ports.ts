import { createHash } from 'node:crypto';
import { Manifest } from '../model/manifest';

/**
 * 10000-29999: below Linux's ephemeral range (32768-60999) and Windows' (49152-65535). On the local
 * driver these ports are bound on the host, where any outgoing connection may be handed a port of the
 * ephemeral range: an ingest's control port there was once taken by another process's connection, and
 * the ingest crashed until it was free again.
 */
const RANGE_START = 10000;
const RANGE_SIZE = 20000;

/**
 * Internal (unpublished) ports for control servers and balanced origin replicas. A port is a hash of
 * the workload name, probed past collisions, so adding a workload does not move the others' ports
 * (which would replace them). Published ports of the manifest are never handed out.
 */
export class InternalPortAllocator {
  private readonly taken = new Set<number>();
  private readonly assigned = new Map<string, number>();

  constructor(manifest: Manifest) {
    for (const account of manifest.accounts) {
      this.taken.add(account.keyDelivery.port);
      for (const channel of account.channels) this.taken.add(channel.port);
      for (const endpoint of account.endpoints) this.taken.add(endpoint.port);
    }
  }

  portFor(workloadName: string): number {
    const existing = this.assigned.get(workloadName);
    if (existing !== undefined) return existing;
    const seed = createHash('sha256').update(workloadName).digest().readUInt32BE(0);
    for (let probe = 0; probe < RANGE_SIZE; probe++) {
      const candidate = RANGE_START + ((seed + probe) % RANGE_SIZE);
      if (!this.taken.has(candidate)) {
        this.taken.add(candidate);
        this.assigned.set(workloadName, candidate);
        return candidate;
      }
    }
    throw new Error(`topology: no internal port left for ${workloadName} in ${RANGE_START}-${RANGE_START + RANGE_SIZE - 1}`);
  }
}
