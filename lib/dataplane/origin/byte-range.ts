/**
 * HTTP byte ranges (RFC 9110 §14) over a body of known size, for anything the origin serves whole
 * from memory: segments (clear or encrypted, cold or hot), and parts or byte-range addressed media.
 *
 * One range per request: `bytes=a-b`, `bytes=a-` and the suffix form `bytes=-n`. What the RFC lets a
 * server ignore is ignored (the whole body is sent with 200): several ranges, another unit, a
 * malformed header, and an `If-Range` (nothing here carries a validator it could match). A range
 * that starts at or after the end is unsatisfiable: 416, with a `Content-Range` that names the size.
 */

export type RangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; /** Inclusive. */ readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/** What to answer to `range` (the Range header, if any) for a body of `size` bytes. */
export function answerRange(range: string | undefined, size: number, ifRange?: string): RangeAnswer {
  if (range === undefined || ifRange !== undefined) return { kind: 'whole' };
  const match = SINGLE_RANGE.exec(range);
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'whole' };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (!Number.isSafeInteger(suffix)) return { kind: 'whole' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? Infinity : Number(match[2]);
  if (!Number.isSafeInteger(start) || (match[2] !== '' && !Number.isSafeInteger(last)) || last < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

/** Status and the range headers (raw `writeHead` list) of an answer; the body to send is `sliceFor`. */
export function rangeStatus(answer: RangeAnswer, size: number): { readonly status: 200 | 206 | 416; readonly headers: string[] } {
  switch (answer.kind) {
    case 'whole':
      return { status: 200, headers: ['Accept-Ranges', 'bytes', 'Content-Length', String(size)] };
    case 'partial':
      return {
        status: 206,
        headers: ['Accept-Ranges', 'bytes', 'Content-Range', `bytes ${answer.start}-${answer.end}/${size}`, 'Content-Length', String(answer.end - answer.start + 1)],
      };
    case 'unsatisfiable':
      return { status: 416, headers: ['Accept-Ranges', 'bytes', 'Content-Range', `bytes */${size}`, 'Content-Length', '0'] };
  }
}

/** The bytes an answer sends (a view, no copy). */
export function sliceFor(answer: RangeAnswer, body: Buffer): Buffer {
  if (answer.kind === 'whole') return body;
  if (answer.kind === 'unsatisfiable') return Buffer.alloc(0);
  return body.subarray(answer.start, answer.end + 1);
}
