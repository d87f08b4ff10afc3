/**
 * Who may publish to and pull from a channel. nginx-rtmp asks (on_publish, on_play); this decides.
 *
 * Publishing: the stream name is the stream key. It is bounded, the address must be in the ingest
 * allow list, the key must match (constant time), and only one publisher at a time is accepted. An
 * accepted stream is renamed to an internal name, so the key never reaches the transcoder's argv
 * or any log. Playing: only the transcoder, which presents a token made when the workload started.
 *
 * SRT publishers are checked by the SRT listener (stream id, allow list, passphrase) before they
 * reach this gate, which then holds one publisher at a time across both protocols.
 */
import { IpAllowList } from '../common/ip-allow-list';
import { constantTimeEqual } from '../secrets';
import { RTMP_APPLICATION } from './nginx-config';

/**
 * nginx-rtmp copies stream names into a 256-byte buffer and silently truncates longer ones, so a
 * name of 255 bytes may be the head of a longer one: it is refused like any name beyond the bound.
 */
export const MAX_STREAM_NAME_BYTES = 254;

/** The name an accepted stream is renamed to (nginx-rtmp follows the 3xx `Location`). */
export const INTERNAL_STREAM_NAME = 'channel';

/** What nginx-rtmp tells about a publish or play attempt (its callback's form fields). */
export interface RtmpCall {
  readonly app?: string;
  readonly name?: string;
  readonly addr?: string;
  readonly clientid?: string;
  /** The play token the transcoder passes as a query argument. */
  readonly token?: string;
}

export type IngestProtocol = 'rtmp' | 'srt';

export interface Publisher {
  readonly clientId: string;
  readonly address: string;
  readonly protocol: IngestProtocol;
  readonly since: Date;
}

export type RefusalReason = 'bad-request' | 'name-too-long' | 'address-not-allowed' | 'wrong-key' | 'already-publishing';

export type GateVerdict =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly reason: RefusalReason; /** Safe to log: never contains the key. */ readonly detail: string };

export interface PublishGateOptions {
  readonly ingestAllowList: readonly string[];
  /** Constant-time check of a presented stream key. */
  readonly verifyKey: (presented: string) => boolean;
  /** Secret the transcoder presents to pull the stream. */
  readonly playToken: string;
  /** Addresses the transcoder connects from. */
  readonly playFrom: readonly string[];
}

export class PublishGate {
  private readonly allowList: IpAllowList;
  private readonly playFrom: IpAllowList;
  private current?: Publisher;

  constructor(private readonly options: PublishGateOptions) {
    this.allowList = new IpAllowList(options.ingestAllowList);
    this.playFrom = new IpAllowList(options.playFrom);
  }

  get publisher(): Publisher | undefined {
    return this.current;
  }

  /** Decide a publish attempt; an accepted one becomes the channel's publisher. */
  publish(call: RtmpCall, now = new Date()): GateVerdict {
    const who = `publisher ${call.addr ?? '?'} (client ${call.clientid ?? '?'})`;
    if (call.app !== RTMP_APPLICATION || !call.addr || !call.clientid || call.name === undefined) {
      return refuse('bad-request', `${who}: incomplete publish callback (application ${JSON.stringify(call.app)})`);
    }
    const nameBytes = Buffer.byteLength(call.name);
    if (nameBytes > MAX_STREAM_NAME_BYTES) {
      return refuse('name-too-long', `${who}: stream name of ${nameBytes} bytes or more; at most ${MAX_STREAM_NAME_BYTES} are allowed`);
    }
    if (!this.allowList.allows(call.addr)) {
      return refuse('address-not-allowed', `${who}: address not in the channel's ingest allow list`);
    }
    if (!this.options.verifyKey(call.name)) {
      return refuse('wrong-key', `${who}: wrong stream key`);
    }
    if (this.current) {
      return refuse('already-publishing', `${who}: the channel already has a publisher (${describe(this.current)})`);
    }
    this.current = { clientId: call.clientid, address: call.addr, protocol: 'rtmp', since: now };
    return { accepted: true };
  }

  /**
   * An SRT caller the SRT listener let in (right stream id, passphrase and address). The allow list
   * is checked again here, where it is also checked for RTMP, and the channel takes one publisher.
   */
  admitSrt(session: { readonly clientId: string; readonly address: string }, now = new Date()): GateVerdict {
    const who = `SRT publisher ${session.address} (session ${session.clientId})`;
    if (!this.allowList.allows(session.address)) return refuse('address-not-allowed', `${who}: address not in the channel's ingest allow list`);
    if (this.current) {
      return refuse('already-publishing', `${who}: the channel already has a publisher (${describe(this.current)})`);
    }
    this.current = { clientId: session.clientId, address: session.address, protocol: 'srt', since: now };
    return { accepted: true };
  }

  /** The publisher left; returns it when `clientId` was the current one (a refused client's end is ignored). */
  publishDone(clientId: string | undefined): Publisher | undefined {
    if (!this.current || this.current.clientId !== clientId) return undefined;
    const left = this.current;
    this.current = undefined;
    return left;
  }

  /** Decide a play (pull) attempt: the internal stream, from the transcoder's address, with its token. */
  play(call: RtmpCall): GateVerdict {
    const who = `player ${call.addr ?? '?'} (client ${call.clientid ?? '?'})`;
    if (call.app !== RTMP_APPLICATION || call.name !== INTERNAL_STREAM_NAME) {
      return refuse('bad-request', `${who}: only the transcoder may play this channel`);
    }
    if (!this.playFrom.allows(call.addr)) return refuse('address-not-allowed', `${who}: plays are accepted from the workload itself only`);
    if (!constantTimeEqual(call.token ?? '', this.options.playToken)) return refuse('wrong-key', `${who}: wrong play token`);
    return { accepted: true };
  }
}

/** A publisher as refusals name it: `203.0.113.7, srt client srt-3`. */
function describe(publisher: Publisher): string {
  return `${publisher.address}, ${publisher.protocol} client ${publisher.clientId}`;
}

function refuse(reason: RefusalReason, detail: string): GateVerdict {
  return { accepted: false, reason, detail };
}

/**
 * Parses nginx-rtmp's callback body (`application/x-www-form-urlencoded`, escaped with nginx's
 * `ngx_escape_uri`, which writes `%20`, never `+`): a `+` in a stream key stays a `+`. nginx writes
 * the session's own fields (app, addr, clientid, name) before the client's query arguments, so the
 * first occurrence of a field wins: a client cannot pass `?addr=...` to pose as another address.
 */
export function parseCallbackBody(body: string): RtmpCall | undefined {
  const fields: Record<string, string> = {};
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? '' : pair.slice(equals + 1);
    try {
      fields[decodeURIComponent(key)] ??= decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return { app: fields.app, name: fields.name, addr: fields.addr, clientid: fields.clientid, token: fields.token };
}
