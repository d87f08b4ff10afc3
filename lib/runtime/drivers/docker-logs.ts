/**
 * Docker multiplexes stdout and stderr of a container without a TTY into one body: frames of an
 * 8-byte header (stream type, 3 zero bytes, big-endian payload length) followed by the payload.
 */

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
