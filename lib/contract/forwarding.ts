/**
 * How an origin replica knows a request came through its own endpoint's balancer (and so may believe
 * the X-Forwarded-For that nginx appended): the balancer sets this header to a per-account token that
 * the workloads generate in the account's storage. Anyone else who reaches a replica's internal port
 * (a local process, a container on the network) cannot present it, so their X-Forwarded-For is ignored.
 */
import { storagePaths } from './storage-layout';

/** Request header the balancer sets (overriding any a client sent). */
export const BALANCER_PROOF_HEADER = 'x-livestack-balancer';

/** Where the account's balancer token lives, under its storage root. */
export function balancerTokenPath(storageDir: string): string {
  return storagePaths.secret(storageDir, 'balancer-proof-token');
}
