/**
 * SRT publishers of a channel, from the SRT listener to the same pipeline as RTMP's: the publish gate
 * (one publisher across both protocols), the transcoder (the session's MPEG-TS piped in, so a
 * reconnect is a new run after a discontinuity, as with RTMP), health and metrics.
 */
import { SrtIngest as SrtSettings } from '../../model/manifest';
import { Logger } from '../common/log';
import { SrtLinkHealth } from './ingest-health';
import { PublishGate } from './publish-gate';
import { SrtListener, SrtOpen } from './srt-listener';
import { Transcoder } from './transcoder';

/** Refusals written to the log per second; beyond that (a flood) they are counted and summed up. */
const REFUSAL_LOG_PER_SECOND = 10;

export interface SrtIngestOptions {
  readonly channel: string;
  readonly settings: SrtSettings;
  readonly listenHost: string;
  readonly allowList: readonly string[];
  /** The stream key: the passphrase. Handed to the listener on its stdin only. */
  readonly passphrase: string;
  readonly gate: PublishGate;
  readonly transcoder: Transcoder;
  readonly log: Logger;
  readonly countRefusal: (reason: string) => void;
  /** The channel's publisher came or went. */
  readonly publisherChanged: () => void;
  /** @default the built helper (srtListenerBinary()) */
  readonly binary?: string;
}

export class SrtIngest {
  private readonly listener: SrtListener;
  private sessions = 0;
  /** The admitted session, if any (a session the gate refused is dropped and never becomes current). */
  private current?: { readonly clientId: string; readonly since: number; bytes: number; link: SrtLinkHealth };
  private refusalWindow = { second: 0, logged: 0, unlogged: 0 };

  constructor(private readonly options: SrtIngestOptions) {
    this.listener = new SrtListener({
      listenHost: options.listenHost,
      port: options.settings.port,
      resource: options.channel,
      keyLength: options.settings.keyLength,
      latencyMs: options.settings.latencyMs,
      allowList: options.allowList,
      passphrase: options.passphrase,
      log: options.log,
      binary: options.binary,
      handlers: {
        opened: (session) => this.opened(session),
        data: (chunk) => {
          if (!this.current) return;
          this.current.bytes += chunk.length;
          options.transcoder.feed(chunk);
        },
        closed: (why, drained) => this.closed(drained > 0 ? `${why}; ${drained} packets it had sent handed on after it closed, as their latency ran out` : why),
        refused: (refusal) => this.refused(refusal.reason, `refused SRT caller ${refusal.address}: ${refusal.detail} (SRT reject code ${refusal.code})`),
        stats: (stats) => {
          if (!this.current) return;
          this.current.link = {
            ...this.current.link,
            rttMs: stats.rttMs,
            packetsLost: stats.packetsLost,
            packetsRetransmitted: stats.packetsRetransmitted,
            packetsDropped: stats.packetsDropped,
          };
        },
        unreported: (count) => this.refused('unreported', `${count} more SRT callers refused, not detailed`),
      },
    });
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  died(): Promise<string> {
    return this.listener.died();
  }

  /** Another protocol's publisher holds the channel, or left it: SRT callers are refused meanwhile. */
  setBusy(busy: boolean): void {
    this.listener.setBusy(busy);
  }

  /** Bytes received from the admitted SRT publisher so far. */
  get bytesReceived(): number | undefined {
    return this.current?.bytes;
  }

  get link(): SrtLinkHealth | undefined {
    return this.current?.link;
  }

  private opened({ address, port, keyLength, latencyMs }: SrtOpen): void {
    const clientId = `srt-${++this.sessions}`;
    const verdict = this.options.gate.admitSrt({ clientId, address });
    if (!verdict.accepted) {
      this.listener.drop();
      this.refused(verdict.reason, `refused ${verdict.detail}`);
      return;
    }
    this.current = { clientId, since: Date.now(), bytes: 0, link: { rttMs: 0, packetsLost: 0, packetsRetransmitted: 0, packetsDropped: 0 } };
    this.options.log.info(`accepted SRT publisher ${address}:${port} (session ${clientId}, AES-${keyLength * 8}, latency ${latencyMs} ms)`);
    this.options.transcoder.publisherArrived('pipe');
    this.options.publisherChanged();
  }

  private closed(why: string): void {
    const session = this.current;
    if (!session) return;
    this.current = undefined;
    const left = this.options.gate.publishDone(session.clientId);
    if (!left) return;
    const link = session.link;
    this.options.log.info(`SRT publisher ${left.address} (session ${left.clientId}) left after ${Math.round((Date.now() - session.since) / 1000)} s: ${why} `
      + `(${session.bytes} bytes; packets lost ${link.packetsLost}, retransmitted ${link.packetsRetransmitted}, dropped ${link.packetsDropped})`);
    this.options.transcoder.publisherLeft();
    this.options.publisherChanged();
  }

  private refused(reason: string, line: string): void {
    this.options.countRefusal(reason);
    const second = Math.floor(Date.now() / 1000);
    const window = this.refusalWindow;
    if (window.second !== second) {
      if (window.unlogged > 0) this.options.log.info(`... and ${window.unlogged} more refusals in that second`);
      this.refusalWindow = { second, logged: 0, unlogged: 0 };
    }
    if (this.refusalWindow.logged < REFUSAL_LOG_PER_SECOND) {
      this.refusalWindow.logged++;
      this.options.log.info(line);
    } else {
      this.refusalWindow.unlogged++;
    }
  }
}
