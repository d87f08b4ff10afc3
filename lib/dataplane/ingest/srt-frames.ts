/**
 * The stdout protocol of livestack-srt-listener (native/srt-listener.c): frames of
 * `[type: 1 byte][length: 4 bytes, big endian][payload]`. Type `D` is stream data of the current SRT
 * session, type `E` one JSON event. One stream for both keeps them in the order they happened: data
 * of a session never arrives after its `closed` event, nor before its `open`.
 */
import { z } from 'zod';

/** The helper writes at most one SRT message (1456 bytes) or one event (1 KiB) a frame. */
const MAX_FRAME_BYTES = 64 * 1024;

export type HelperFrame =
  | { readonly type: 'data'; readonly payload: Buffer }
  | { readonly type: 'event'; readonly event: SrtEvent };

/** Why the helper refused a caller: the same words as the RTMP gate's where they mean the same. */
export const srtRefusalReason = z.enum([
  'bad-streamid', 'wrong-streamid', 'bad-mode', 'address-not-allowed', 'already-publishing', 'wrong-key', 'key-length-mismatch', 'internal',
]);
export type SrtRefusalReason = z.infer<typeof srtRefusalReason>;

export const srtEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('ready'), port: z.number(), keyLength: z.number(), latencyMs: z.number() }),
  /** `latencyMs`: the session's negotiated latency (the larger of the channel's and the encoder's). */
  z.object({ event: z.literal('open'), address: z.string(), port: z.number(), keyLength: z.number(), latencyMs: z.number() }),
  /** `drainedPackets`: what the buffer still held when the encoder closed, handed on as its time came. */
  z.object({ event: z.literal('closed'), why: z.string(), drainedPackets: z.number() }),
  z.object({ event: z.literal('refused'), address: z.string(), reason: srtRefusalReason, code: z.number(), detail: z.string() }),
  z.object({ event: z.literal('refusals-unreported'), count: z.number() }),
  z.object({
    event: z.literal('stats'),
    bytesReceived: z.number(),
    packetsReceived: z.number(),
    packetsLost: z.number(),
    packetsRetransmitted: z.number(),
    packetsDropped: z.number(),
    rttMs: z.number(),
    receiveMbps: z.number(),
  }),
]);
export type SrtEvent = z.infer<typeof srtEvent>;

export class FrameError extends Error {}

/** Cuts the helper's output into frames, whatever the chunk boundaries. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames completed by `chunk`; throws FrameError on output that is not the protocol. */
  push(chunk: Buffer): HelperFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: HelperFrame[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 5) {
      const type = String.fromCharCode(this.pending[offset]);
      const length = this.pending.readUInt32BE(offset + 1);
      if (length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${length} bytes (at most ${MAX_FRAME_BYTES} expected)`);
      if (this.pending.length - offset - 5 < length) break;
      const payload = this.pending.subarray(offset + 5, offset + 5 + length);
      offset += 5 + length;
      if (type === 'D') frames.push({ type: 'data', payload });
      else if (type === 'E') frames.push({ type: 'event', event: parseEvent(payload) });
      else throw new FrameError(`unknown frame type ${JSON.stringify(type)}`);
    }
    // Copy the unfinished tail so the chunk it came from can be freed.
    this.pending = Buffer.from(this.pending.subarray(offset));
    return frames;
  }
}

function parseEvent(payload: Buffer): SrtEvent {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError(`event that is not JSON (${payload.length} bytes)`);
  }
  const parsed = srtEvent.safeParse(json);
  if (!parsed.success) throw new FrameError(`unexpected event ${payload.toString('utf8').slice(0, 200)}`);
  return parsed.data;
}
