import { FrameDecoder, FrameError } from '../../../lib/dataplane/ingest/srt-frames';

/** A frame as livestack-srt-listener writes it: type, 4-byte big-endian length, payload. */
function frame(type: string, payload: Buffer | string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

const open = JSON.stringify({ event: 'open', address: '203.0.113.7', port: 5000, keyLength: 16, latencyMs: 120 });
const closed = JSON.stringify({ event: 'closed', why: 'the connection broke', drainedPackets: 3 });

describe('FrameDecoder', () => {
  test('keeps events and data in the order they were written, whatever the chunk boundaries', () => {
    // GIVEN an open event, two data frames and a closed event, as one byte stream
    const ts = Buffer.alloc(1316, 0x47);
    const stream = Buffer.concat([frame('E', open), frame('D', ts), frame('D', ts.subarray(0, 188)), frame('E', closed)]);

    // WHEN it arrives cut at every possible place (one byte at a time)
    const decoder = new FrameDecoder();
    const frames = [...stream].flatMap((byte) => decoder.push(Buffer.from([byte])));

    // THEN the frames come out whole and in order
    expect(frames.map((f) => (f.type === 'data' ? `data ${f.payload.length}` : f.event.event))).toEqual(['open', 'data 1316', 'data 188', 'closed']);
    expect(frames[0]).toEqual({ type: 'event', event: JSON.parse(open) });
  });

  test('fails on output that is not the protocol: an unknown type, an oversized frame, an event that is not one', () => {
    expect(() => new FrameDecoder().push(frame('X', 'x'))).toThrow(FrameError);
    const huge = Buffer.from([0x44, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => new FrameDecoder().push(huge)).toThrow(/frame of \d+ bytes/);
    expect(() => new FrameDecoder().push(frame('E', 'not json'))).toThrow(/not JSON/);
    expect(() => new FrameDecoder().push(frame('E', JSON.stringify({ event: 'refused', address: '1.2.3.4', reason: 'because', code: 1, detail: '' })))).toThrow(/unexpected event/);
  });
});
