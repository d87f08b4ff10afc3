/**
 * Input counters from nginx-rtmp's statistics (`rtmp_stat all`, served as XML on a unix socket inside
 * the workload's private folder): bytes received on the channel's stream, so the workload can report
 * the input bitrate it measured itself between two reads.
 */
import * as http from 'node:http';
import { RTMP_APPLICATION } from './nginx-config';
import { INTERNAL_STREAM_NAME } from './publish-gate';

export interface StreamStat {
  /** Bytes received from the publisher on this stream so far. */
  readonly bytesIn: number;
  /** Frame rate the encoder declared in its metadata, if any. */
  readonly declaredFrameRate?: number;
}

/** GETs the statistics document from nginx over its unix socket. */
export function fetchRtmpStat(socketPath: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: '/stat', timeout: timeoutMs, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode === 200) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new Error(`nginx statistics answered ${response.statusCode}`));
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`nginx statistics did not answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** The counters of stream `name` of application `app`, or undefined when nobody publishes it. */
export function streamStat(xml: string, app: string, name: string): StreamStat | undefined {
  for (const application of elements(xml, 'application')) {
    if (text(application, 'name') !== app) continue;
    for (const stream of elements(application, 'stream')) {
      if (text(stream, 'name') !== name) continue;
      const bytesIn = Number(text(stream, 'bytes_in'));
      if (!Number.isFinite(bytesIn)) return undefined;
      const frameRate = Number(text(elements(stream, 'meta')[0] ?? '', 'frame_rate'));
      return { bytesIn, ...(Number.isFinite(frameRate) && frameRate > 0 ? { declaredFrameRate: frameRate } : {}) };
    }
  }
  return undefined;
}

/** Inner text of each `<tag>...</tag>` (nginx-rtmp writes no attributes and never nests a tag in itself). */
function elements(xml: string, tag: string): string[] {
  const found: string[] = [];
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  let from = 0;
  for (;;) {
    const start = xml.indexOf(open, from);
    if (start < 0) return found;
    const end = xml.indexOf(close, start);
    if (end < 0) return found;
    found.push(xml.slice(start + open.length, end));
    from = end + close.length;
  }
}

/** Text of the first `<tag>` directly in `xml` (before any nested element of the same name). */
function text(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1];
}

/** Bytes received on the channel's internal stream so far, or undefined when nobody publishes over RTMP. */
export async function rtmpInputBytes(socketPath: string): Promise<number | undefined> {
  return streamStat(await fetchRtmpStat(socketPath), RTMP_APPLICATION, INTERNAL_STREAM_NAME)?.bytesIn;
}
