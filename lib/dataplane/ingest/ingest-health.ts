/**
 * Ingest health: publisher connected, input bitrate and frame rate, age of the newest segment,
 * transcoder restarts. Written atomically to `channels/<channel>/health.json` every few seconds (the
 * runtime's status reads it) and exposed as Prometheus gauges.
 */
import { Gauge, Registry } from 'prom-client';
import { Logger } from '../common/log';
import { IngestHealth, storagePaths } from '../../contract/storage-layout';
import { overwriteInPlace, writeFileAtomic } from '../../util/files';
import { Publisher } from './publish-gate';
import { StorageState } from './storage-guard';

export type SrtLinkHealth = NonNullable<IngestHealth['srt']>;

export interface HealthSources {
  publisher(): Publisher | undefined;
  transcoderRestarts(): number;
  /** Frames per second the transcoder reads, measured. */
  inputFrameRate(): number | undefined;
  lastSegmentAtMs(): number | undefined;
  /** Bytes received from the current publisher so far (nginx-rtmp's counters, or the SRT session's). */
  inputBytes(): Promise<number | undefined>;
  /** The current SRT publisher's link. */
  srtLink(): SrtLinkHealth | undefined;
  /** The storage's free space and whether recording is paused for it. */
  storage(): StorageState | undefined;
}

export class HealthMonitor {
  private bitrateKbps?: number;
  private lastSample?: { bytesIn: number; atMs: number };
  private warnedStat = false;

  constructor(
    private readonly storageDir: string,
    private readonly channel: string,
    private readonly sources: HealthSources,
    private readonly log: Logger,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const gauge = (name: string, help: string, read: () => number | undefined) => new Gauge({
      name: `livestack_ingest_${name}`,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
        else this.reset();
      },
    });
    gauge('publisher_connected', '1 while an encoder publishes to the channel', () => (sources.publisher() ? 1 : 0));
    gauge('input_bitrate_kbps', 'Bitrate received from the publisher (kbit/s), measured', () => this.bitrateKbps);
    gauge('input_frame_rate', 'Frames per second of media the encoder sends, measured over the last seconds the transcoder read', () => sources.inputFrameRate());
    gauge('last_segment_age_seconds', 'Seconds since the newest segment was written', () => this.lastSegmentAge());
    gauge('storage_free_bytes', 'Free bytes on the account storage, as the ingest last measured', () => sources.storage()?.freeBytes);
    gauge('recording_paused', '1 while recording is paused because the storage is nearly full', () => (sources.storage()?.recordingPaused ? 1 : 0));
    gauge('transcoder_restarts', 'Times the transcoder was started again while the publisher stayed connected', () => sources.transcoderRestarts());
  }

  /** Samples nginx's counters and rewrites health.json. */
  async update(): Promise<IngestHealth> {
    await this.sampleBitrate();
    const health = this.snapshot();
    const file = storagePaths.channelHealth(this.storageDir, this.channel);
    const text = `${JSON.stringify(health, null, 2)}\n`;
    try {
      writeFileAtomic(file, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      // A full disk is exactly when status must hear about it: reuse the old file's blocks (the runtime retries unparsable reads).
      overwriteInPlace(file, text);
    }
    return health;
  }

  snapshot(): IngestHealth {
    const publisher = this.sources.publisher();
    const lastAt = this.sources.lastSegmentAtMs();
    const frameRate = publisher ? this.sources.inputFrameRate() : undefined;
    const srt = publisher?.protocol === 'srt' ? this.sources.srtLink() : undefined;
    const storage = this.sources.storage();
    return {
      channel: this.channel,
      publisherConnected: publisher !== undefined,
      ...(publisher ? { publisher: publisher.address, publisherProtocol: publisher.protocol } : {}),
      ...(srt ? { srt } : {}),
      ...(publisher && this.bitrateKbps !== undefined ? { inputBitrateKbps: this.bitrateKbps } : {}),
      ...(frameRate !== undefined ? { inputFrameRate: frameRate } : {}),
      ...(lastAt !== undefined ? { lastSegmentAgeSeconds: this.lastSegmentAge(), lastSegmentAt: new Date(lastAt).toISOString() } : {}),
      transcoderRestarts: this.sources.transcoderRestarts(),
      ...(storage ? { storage } : {}),
      updatedAt: new Date(this.now()).toISOString(),
    };
  }

  private lastSegmentAge(): number | undefined {
    const lastAt = this.sources.lastSegmentAtMs();
    return lastAt === undefined ? undefined : Math.max(0, Math.round((this.now() - lastAt) / 100) / 10);
  }

  private async sampleBitrate(): Promise<void> {
    if (!this.sources.publisher()) {
      this.bitrateKbps = undefined;
      this.lastSample = undefined;
      return;
    }
    let bytesIn;
    try {
      bytesIn = await this.sources.inputBytes();
    } catch (error) {
      if (!this.warnedStat) this.log.error(`cannot read the input counters: ${(error as Error).message}; input bitrate unknown`);
      this.warnedStat = true;
      return;
    }
    const atMs = this.now();
    if (bytesIn === undefined) {
      this.lastSample = undefined;
      return;
    }
    const previous = this.lastSample;
    if (previous && atMs > previous.atMs && bytesIn >= previous.bytesIn) {
      this.bitrateKbps = Math.round(((bytesIn - previous.bytesIn) * 8) / (atMs - previous.atMs));
    }
    this.lastSample = { bytesIn, atMs };
  }
}
