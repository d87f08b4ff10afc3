/**
 * One-off data-plane tasks the controller runs through a driver, next to a workload and on its
 * account storage (`Driver.runTask`): their command lines and what they print. The controller learns
 * about recordings from these, never by reading the storage itself.
 */
import { z } from 'zod';

export interface FinalizeRequest {
  readonly channel: string;
  /** Report assets closed at or after this time (epoch ms) as `closed`. */
  readonly sinceMs?: number;
  /** Wait up to this long for the channel's open assets to close. */
  readonly waitMs?: number;
  /** Close what is still open from its files (only once no ingest writes the channel). */
  readonly close?: boolean;
}

export const FINALIZE_COMMAND = 'finalize-recordings';

/** argv of the finalize task (argv[0] `livestack`, as workload commands). */
export function finalizeCommand(request: FinalizeRequest): string[] {
  return [
    'livestack', FINALIZE_COMMAND, '--channel', request.channel,
    ...(request.sinceMs !== undefined ? ['--since', String(request.sinceMs)] : []),
    ...(request.waitMs !== undefined ? ['--wait-ms', String(request.waitMs)] : []),
    ...(request.close ? ['--close'] : []),
  ];
}

/** The one JSON line the finalize task prints on stdout. */
export const finalizeReport = z.object({
  channel: z.string(),
  /** Assets of the channel closed since `sinceMs` (by its ingest, as asked). */
  closed: z.array(z.string()),
  /** Assets of the channel still recording. */
  open: z.array(z.string()),
  /** Assets this run closed from their files (`close`). */
  closedFromFiles: z.array(z.string()),
});
export type FinalizeReport = z.infer<typeof finalizeReport>;

/**
 * The live config task: writes the workload's control file (`<storage>/control/<workload>.json`) from
 * the live config in its environment (`LIVESTACK_LIVE_CONFIG`). How engines whose runtime cannot reach
 * the storage (Swarm: it lives on the hosts) deliver a live config without restarting the workload.
 */
export const WRITE_LIVE_CONFIG_COMMAND = 'write-live-config';

/** argv of the live config task. */
export function writeLiveConfigCommand(): string[] {
  return ['livestack', WRITE_LIVE_CONFIG_COMMAND];
}

/**
 * The ingest health task: prints the channel's health report (`channels/<channel>/health.json` on the
 * account storage, as the ingest writes it), or `null` when the ingest has written none yet. How the
 * runtime learns an ingest's health where the storage lives on the hosts (Swarm), as it reads that file
 * on one host.
 */
export const READ_INGEST_HEALTH_COMMAND = 'read-ingest-health';

/** argv of the ingest health task for `channel`. */
export function readIngestHealthCommand(channel: string): string[] {
  return ['livestack', READ_INGEST_HEALTH_COMMAND, channel];
}
