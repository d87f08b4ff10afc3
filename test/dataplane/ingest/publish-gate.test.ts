/**
 * Publish and play decisions (the e2e suite drives the same gate through real nginx-rtmp).
 */
import { INTERNAL_STREAM_NAME, MAX_STREAM_NAME_BYTES, parseCallbackBody, PublishGate } from '../../../lib/dataplane/ingest/publish-gate';

const KEY = 'correct-key+/=';

function gate(allowList: string[] = []) {
  return new PublishGate({ ingestAllowList: allowList, verifyKey: (k) => k === KEY, playToken: 'play-token', playFrom: ['127.0.0.1'] });
}

const publish = (name: string, addr = '127.0.0.1', clientid = '1') => ({ app: 'live', name, addr, clientid });

describe('PublishGate', () => {
  it('accepts the right key and makes the publisher current', () => {
    const g = gate();
    expect(g.publish(publish(KEY))).toEqual({ accepted: true });
    expect(g.publisher).toMatchObject({ clientId: '1', address: '127.0.0.1' });
  });

  it.each([
    ['a wrong key', publish('wrong'), 'wrong-key'],
    ['another application', { ...publish(KEY), app: 'other' }, 'bad-request'],
    ['a name longer than the bound', publish('k'.repeat(MAX_STREAM_NAME_BYTES + 1)), 'name-too-long'],
    ['a name nginx-rtmp may have truncated (255 bytes)', publish('k'.repeat(255)), 'name-too-long'],
    ['a callback without address', { app: 'live', name: KEY, clientid: '1' }, 'bad-request'],
  ])('refuses %s', (_what, call, reason) => {
    const g = gate();
    expect(g.publish(call)).toMatchObject({ accepted: false, reason });
    expect(g.publisher).toBeUndefined();
  });

  it('refuses an address outside the allow list even with the right key, and names no key', () => {
    const verdict = gate(['10.0.0.0/8']).publish(publish(KEY, '192.0.2.7'));
    expect(verdict).toMatchObject({ accepted: false, reason: 'address-not-allowed' });
    expect(JSON.stringify(verdict)).not.toContain(KEY);
  });

  it('refuses a second publisher while the first is on, and accepts one once it left', () => {
    const g = gate();
    g.publish(publish(KEY, '127.0.0.1', '1'));
    expect(g.publish(publish(KEY, '127.0.0.1', '2'))).toMatchObject({ accepted: false, reason: 'already-publishing' });

    // The refused client's end does not end the current publisher.
    expect(g.publishDone('2')).toBeUndefined();
    expect(g.publisher?.clientId).toBe('1');

    expect(g.publishDone('1')?.clientId).toBe('1');
    expect(g.publish(publish(KEY, '127.0.0.1', '3'))).toEqual({ accepted: true });
  });

  it('lets only the transcoder play: internal name, its address, its token', () => {
    const g = gate();
    const play = { app: 'live', name: INTERNAL_STREAM_NAME, addr: '127.0.0.1', clientid: '9', token: 'play-token' };
    expect(g.play(play)).toEqual({ accepted: true });
    expect(g.play({ ...play, token: 'play-tokem' })).toMatchObject({ accepted: false, reason: 'wrong-key' });
    expect(g.play({ ...play, addr: '192.0.2.1' })).toMatchObject({ accepted: false, reason: 'address-not-allowed' });
    expect(g.play({ ...play, name: KEY })).toMatchObject({ accepted: false, reason: 'bad-request' });
  });
});

describe('parseCallbackBody', () => {
  it('decodes nginx-rtmp escapes and keeps a literal +', () => {
    expect(parseCallbackBody('app=live&addr=127.0.0.1&clientid=4&call=publish&name=a%20b+c%2Fd&type=live')).toMatchObject({
      app: 'live', addr: '127.0.0.1', clientid: '4', name: 'a b+c/d',
    });
  });

  it('keeps the first occurrence, so query arguments cannot override the session fields', () => {
    expect(parseCallbackBody('app=live&addr=127.0.0.1&clientid=4&name=key&addr=10.0.0.1&clientid=99')).toMatchObject({ addr: '127.0.0.1', clientid: '4' });
  });

  it('refuses malformed escapes', () => {
    expect(parseCallbackBody('name=%E0%A4%A')).toBeUndefined();
  });
});
