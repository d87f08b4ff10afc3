/**
 * Closing a channel's recordings for good, when the channel's ingest goes away (declared stopped,
 * removed, destroyed): the data-plane half of the controller's finalizer (lib/runtime/recording-
 * finalizer.ts). The controller first tells the running ingest that every program is stopped (live
 * config) and runs `livestack dataplane finalize --wait-ms` next to it to learn when the ingest has
 * closed them; after deleting the ingest it runs `finalize --close` for whatever the ingest left open
 * (it was down or too slow). Both run wherever the ingest runs, on the account storage, through the
 * driver: the controller never reads or writes recordings itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetDescriptor, assetDescriptor, storagePaths } from '../../contract/storage-layout';
import { FinalizeReport } from '../../contract/tasks';
import { Logger } from '../common/log';
import { ChannelRecorder } from './asset-recorder';

export interface FinalizeOptions {
  readonly storageDir: string;
  readonly channel: string;
  /** Count assets closed at or after this time (epoch ms) as `closed`. @default 0 */
  readonly since?: number;
  /** Wait up to this long for the channel's open assets to close. @default 0 */
  readonly waitMs?: number;
  /** Close what is still open from its files (only once no ingest writes the channel). @default false */
  readonly close?: boolean;
  readonly log: Logger;
}

const POLL_MS = 100;

export async function finalizeRecordings(options: FinalizeOptions): Promise<FinalizeReport> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  while (openAssets(options.storageDir, options.channel).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const closedFromFiles = options.close
    ? openAssets(options.storageDir, options.channel).filter((asset) => closeFromFiles(options, asset)).map((a) => a.asset)
    : [];
  const assets = channelAssets(options.storageDir, options.channel);
  const since = options.since ?? 0;
  return {
    channel: options.channel,
    closed: assets.filter((a) => a.state === 'stopped' && a.stoppedAt !== undefined && Date.parse(a.stoppedAt) >= since && !closedFromFiles.includes(a.asset)).map((a) => a.asset),
    open: assets.filter((a) => a.state === 'recording').map((a) => a.asset),
    closedFromFiles,
  };
}

/** Closes one asset with the ingest's recorder, set up from the asset's own descriptor. */
function closeFromFiles(options: FinalizeOptions, asset: AssetDescriptor): boolean {
  const recorder = new ChannelRecorder({
    storageDir: options.storageDir,
    channel: options.channel,
    segmentDurationSeconds: asset.segmentDurationSeconds,
    renditions: asset.renditions.map((r) => ({ name: r.name, type: r.type })),
    log: { info: () => undefined, error: (message) => options.log.error(`asset ${asset.asset}: ${message}`) },
  });
  try {
    return recorder.closeFromDisk(asset.asset, 'lost its ingest (channel stopped or gone)');
  } catch (error) {
    options.log.error(`could not close asset ${asset.asset} of channel ${options.channel}: ${(error as Error).message}`);
    return false;
  }
}

function openAssets(storage: string, channel: string): AssetDescriptor[] {
  return channelAssets(storage, channel).filter((a) => a.state === 'recording');
}

function channelAssets(storage: string, channel: string): AssetDescriptor[] {
  return safeReaddir(path.join(storage, 'assets')).flatMap((name) => {
    const descriptor = readDescriptor(storage, name);
    return descriptor?.channel === channel ? [descriptor] : [];
  });
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
