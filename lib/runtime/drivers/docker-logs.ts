/**
 * Docker multiplexes stdout and stderr of a container without a TTY into one body: frames of an
 * 8-byte header (stream type, 3 zero bytes, big-endian payload length) followed by the payload.
 */
import { engineMessage, engineStatus } from './docker-client';

/** The text of a multiplexed log body, stdout and stderr interleaved in the order Docker recorded them. */
export function demuxLogs(body: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= body.length) {
    const type = body[offset];
    const size = body.readUInt32BE(offset + 4);
    // Not a frame header: the container has a TTY and the body is raw text.
    if (type > 2 || body[offset + 1] !== 0 || body[offset + 2] !== 0 || body[offset + 3] !== 0) return body.toString('utf8');
    parts.push(body.subarray(offset + 8, Math.min(body.length, offset + 8 + size)));
    offset += 8 + size;
  }
  if (offset === 0 && body.length > 0) return body.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The last lines of a workload's log as an engine returns them (a container's or a swarm service's),
 * without the trailing newline. An unknown workload is an error that lists the ones the driver knows.
 */
export async function workloadLogs(request: {
  readonly name: string;
  /** The driver's word for its workloads in the error: `docker`, `swarm`. */
  readonly kind: string;
  readonly address: string;
  readonly fetch: () => Promise<unknown>;
  readonly known: () => Promise<string[]>;
}): Promise<string> {
  let body: unknown;
  try {
    body = await request.fetch();
  } catch (error) {
    if (engineStatus(error) !== 404) throw new Error(`logs of ${request.name}: ${engineMessage(error)}`);
    const known = await request.known();
    throw new Error(`no ${request.kind} workload named ${request.name} on ${request.address}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  const text = demuxLogs(Buffer.isBuffer(body) ? body : Buffer.from(body as string));
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
