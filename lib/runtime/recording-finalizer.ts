/**
 * Closing a channel's recordings before its ingest is deleted, in the manner of a Kubernetes
 * finalizer. When the controller deletes an ingest workload (its channel declared stopped or gone, or
 * `destroy`), it first delivers a live config in which every program is stopped and gives the ingest a
 * bounded moment to close its assets (EXT-X-ENDLIST, `asset.json` state `stopped`); then it deletes
 * the workload. An asset still open after that (the ingest was down, or too slow) is closed from its
 * files with the ingest's own recorder once no workload writes it any more. Without this, players
 * would see a live stream that never advances.
 *
 * Not for a replace (a spec change): the new ingest continues the recordings. Not on the Terraform
 * path either: a container Terraform removes gets no such step (see plan.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChannelRecorder } from '../dataplane/ingest/asset-recorder';
import { AssetDescriptor, assetDescriptor, storagePaths } from '../contract/storage-layout';
import { ingestLiveConfig, IngestLiveConfig } from '../contract/workload-config';
import { workloadName } from '../contract/workload-names';
import { ENV } from '../contract/workload-env';
import { WorkloadSpec } from '../contract/workload-spec';
import { contentHash } from '../util/stable-json';
import { Driver, ObservedWorkload } from './drivers/driver';
import { errorMessage } from './errors';

/** How long an ingest gets to close its assets before it is deleted anyway. */
export const FINALIZE_TIMEOUT_MS = 5_000;
const POLL_MS = 100;

export interface FinalizerOptions {
  readonly driver: Driver;
  /** Past-tense lines naming the channel and the assets. */
  readonly log: (line: string) => void;
  /** @default FINALIZE_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export interface FinalizeOutcome {
  /** The channel whose recordings were closed; undefined when it could not be told (nothing closed). */
  readonly channel?: string;
  /** Assets the ingest closed itself within the bound. */
  readonly closedByIngest: readonly string[];
  /** Assets still open after the bound (or with the ingest down), closed from their files after the delete. */
  readonly closedFromFiles: readonly string[];
}

/**
 * Deletes an ingest workload (`remove`) after its recordings are closed. `applied` is the spec last
 * applied to it (the controller's record): it names the channel and its programs.
 */
export async function deleteIngestFinalized(
  options: FinalizerOptions, workload: ObservedWorkload, applied: WorkloadSpec | undefined, remove: () => Promise<void>,
): Promise<FinalizeOutcome> {
  const storage = await options.driver.storageDir(workload.account);
  const channel = ingestChannelOf(applied) ?? channelByWorkloadName(storage, workload);
  const open = channel ? openAssets(storage, channel) : [];
  if (!channel || open.length === 0) {
    await remove();
    return { channel, closedByIngest: [], closedFromFiles: [] };
  }
  const live = stoppedPrograms(applied);
  if (applied && live && workload.phase !== 'exited') {
    try {
      await options.driver.updateLive({ ...applied, liveConfig: live, liveHash: contentHash(live) });
      await waitClosed(storage, open, options.timeoutMs ?? FINALIZE_TIMEOUT_MS);
    } catch (error) {
      options.log(`Could not ask ingest ${workload.name} to close its recordings: ${errorMessage(error)}; closing them from their files after the delete`);
    }
  }
  const leftOpen = new Set(openAssets(storage, channel).map((a) => a.asset));
  const closedByIngest = open.map((a) => a.asset).filter((name) => !leftOpen.has(name));
  await remove();
  const closedFromFiles = openAssets(storage, channel).filter((asset) => closeFromFiles(storage, channel, asset, options.log)).map((a) => a.asset);
  if (closedByIngest.length > 0) options.log(`Closed recordings of channel ${channel} before deleting ${workload.name}: ${closedByIngest.join(', ')} (video on demand)`);
  if (closedFromFiles.length > 0) options.log(`Closed recordings of channel ${channel} from their files after deleting ${workload.name}: ${closedFromFiles.join(', ')} (the ingest did not close them in time)`);
  return { channel, closedByIngest, closedFromFiles };
}

/** The channel an ingest spec serves (from its static config). */
export function ingestChannelOf(spec: WorkloadSpec | undefined): string | undefined {
  if (!spec) return undefined;
  try {
    return (JSON.parse(spec.env[ENV.config]) as { channel?: { name?: string } }).channel?.name;
  } catch {
    return undefined;
  }
}

/** Without a record: the channel whose ingest would bear this name (topology names are deterministic). */
function channelByWorkloadName(storage: string, workload: ObservedWorkload): string | undefined {
  return safeReaddir(path.join(storage, 'channels')).find((channel) => workloadName(workload.account, 'ingest', channel) === workload.name);
}

/** The live config last applied, with every program stopped; undefined without a usable record. */
function stoppedPrograms(applied: WorkloadSpec | undefined): IngestLiveConfig | undefined {
  const parsed = ingestLiveConfig.safeParse(applied?.liveConfig);
  if (!parsed.success) return undefined;
  return { programs: parsed.data.programs.map((p) => ({ ...p, state: 'stopped' as const })) };
}

/** Descriptors of the channel's assets that still read `recording`. */
function openAssets(storage: string, channel: string): AssetDescriptor[] {
  return safeReaddir(path.join(storage, 'assets')).flatMap((name) => {
    const descriptor = readDescriptor(storage, name);
    return descriptor?.channel === channel && descriptor.state === 'recording' ? [descriptor] : [];
  });
}

async function waitClosed(storage: string, open: readonly AssetDescriptor[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (open.some((a) => readDescriptor(storage, a.asset)?.state === 'recording') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Closes one asset with the ingest's recorder, set up from the asset's own descriptor. */
function closeFromFiles(storage: string, channel: string, asset: AssetDescriptor, log: (line: string) => void): boolean {
  const recorder = new ChannelRecorder({
    storageDir: storage,
    channel,
    segmentDurationSeconds: asset.segmentDurationSeconds,
    renditions: asset.renditions.map((r) => ({ name: r.name, type: r.type })),
    log: { info: () => undefined, error: (message) => log(`Asset ${asset.asset}: ${message}`) },
  });
  try {
    return recorder.closeFromDisk(asset.asset, 'lost its ingest (channel stopped or gone)');
  } catch (error) {
    log(`Could not close asset ${asset.asset} of channel ${channel}: ${errorMessage(error)}`);
    return false;
  }
}

function readDescriptor(storage: string, asset: string): AssetDescriptor | undefined {
  try {
    const parsed = assetDescriptor.safeParse(JSON.parse(fs.readFileSync(storagePaths.assetDescriptor(storage, asset), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
