import { answerRange, rangeStatus, sliceFor } from '../../../lib/dataplane/origin/byte-range';

/** Byte range answers (RFC 9110 §14) over a body of 1,000 bytes. */
const SIZE = 1000;
const body = Buffer.from(Array.from({ length: SIZE }, (_v, i) => i % 251));

describe('byte ranges', () => {
  test.each([
    ['bytes=0-99', 0, 99],
    ['bytes=900-', 900, 999],
    ['bytes=-100', 900, 999],
    ['bytes=990-5000', 990, 999],
    ['bytes=-5000', 0, 999],
    ['BYTES= 10 - 19', 10, 19],
    ['bytes=999-999', 999, 999],
  ])('answers %s with 206 and the bytes %i-%i', (range, start, end) => {
    const answer = answerRange(range, SIZE);
    expect(answer).toEqual({ kind: 'partial', start, end });
    expect(rangeStatus(answer, SIZE)).toEqual({
      status: 206,
      headers: ['Accept-Ranges', 'bytes', 'Content-Range', `bytes ${start}-${end}/${SIZE}`, 'Content-Length', String(end - start + 1)],
    });
    expect(sliceFor(answer, body).equals(body.subarray(start, end + 1))).toBe(true);
  });

  test.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0'])('fails %s as unsatisfiable: 416 with the size', (range) => {
    const answer = answerRange(range, SIZE);
    expect(answer).toEqual({ kind: 'unsatisfiable' });
    expect(rangeStatus(answer, SIZE)).toEqual({ status: 416, headers: ['Accept-Ranges', 'bytes', 'Content-Range', `bytes */${SIZE}`, 'Content-Length', '0'] });
    expect(sliceFor(answer, body).length).toBe(0);
  });

  test.each([undefined, 'bytes=0-1,5-6', 'items=0-1', 'bytes=9-3', 'bytes=-', 'bytes=abc', 'bytes=99999999999999999999-'])('sends the whole body with 200 for %s', (range) => {
    const answer = answerRange(range, SIZE);
    expect(answer).toEqual({ kind: 'whole' });
    expect(rangeStatus(answer, SIZE)).toEqual({ status: 200, headers: ['Accept-Ranges', 'bytes', 'Content-Length', String(SIZE)] });
    expect(sliceFor(answer, body)).toBe(body);
  });

  test('sends the whole body when If-Range is present (nothing here carries a validator to match)', () => {
    expect(answerRange('bytes=0-9', SIZE, '"etag"')).toEqual({ kind: 'whole' });
  });
});
