/**
 * An address that floods the RTMP port with idle connections (no handshake, no key) must not keep the
 * channel's encoder out: real nginx-rtmp behind the workload's TCP front, a real ffmpeg encoder, 600
 * attacker sockets from 127.0.0.2 that reconnect whenever they are closed.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Manifest } from '../../lib/model/manifest';
import { LocalStack, startLocalStack } from '../../bench/support/local-stack';
import { eventually } from '../runtime/support/eventually';
import { channelOf, ingestManifest, rtmpUrl, startEncoder, tearDown } from './support/ingest-support';

jest.setTimeout(180_000);

const KEY = `key-${randomBytes(12).toString('hex')}`;
const ATTACKER = '127.0.0.2';
const IDLE_CONNECTIONS = 600;
const TRIES = 10;

let manifest: Manifest;
let stack: LocalStack;

beforeAll(async () => {
  manifest = await ingestManifest([
    { name: 'news', encoding: { type: 'passthrough' }, streamKey: { kind: 'variable', id: 'news-key', name: 'news_key' }, programs: [] },
  ]);
  stack = await startLocalStack(manifest, { env: { ...process.env, TF_VAR_news_key: KEY } });
  await stack.waitReady(30_000);
}, 90_000);

afterAll(() => tearDown(stack, undefined), 60_000);

/** Holds `count` idle connections from `localAddress`, opening a new one a second after any is closed. */
function idleFlood(port: number, localAddress: string, count: number) {
  const sockets = new Set<net.Socket>();
  let stopped = false;
  let opened = 0;
  let connected = 0;
  const open = () => {
    if (stopped) return;
    opened++;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    sockets.add(socket);
    socket.on('connect', () => { connected++; });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (!stopped) setTimeout(open, 1_000);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    get opened() { return opened; },
    get connected() { return connected; },
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

const ingestName = () => stack.specs.find((s) => s.role === 'ingest')!.name;
const ingestLog = async () => stack.driver.logs(ingestName(), 1_000_000);
const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

test(`GIVEN ${IDLE_CONNECTIONS} idle connections held from one address WHEN the encoder publishes with the right key THEN it gets in within 2 s, ${TRIES} times out of ${TRIES}, and the log stays bounded`, async () => {
  const port = channelOf(manifest, 'news').port;
  const logBefore = await ingestLog();
  const flood = idleFlood(port, ATTACKER, IDLE_CONNECTIONS);
  const started = Date.now();
  try {
    await eventually('the attacker\'s connections', () => (flood.connected >= IDLE_CONNECTIONS ? true : undefined), 20_000, 100);
    const waits: number[] = [];
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const acceptedBefore = count(await ingestLog(), /accepted publisher/);
      const leftBefore = count(await ingestLog(), /publisher .* left after/);
      const publishAt = Date.now();
      const encoder = startEncoder(rtmpUrl(manifest, 'news', KEY), { seconds: 30 });
      await eventually(`publish ${attempt + 1} accepted`, async () => (count(await ingestLog(), /accepted publisher/) > acceptedBefore ? true : undefined), 10_000, 50);
      waits.push(Date.now() - publishAt);
      encoder.stop();
      await encoder.done;
      await eventually(`publisher ${attempt + 1} gone`, async () => (count(await ingestLog(), /publisher .* left after/) > leftBefore ? true : undefined), 20_000, 100);
    }

    // THEN every publish got in within 2 s (ffmpeg's own start included)
    expect({ waits, slowest: Math.max(...waits) }).toEqual({ waits, slowest: expect.any(Number) });
    expect(Math.max(...waits)).toBeLessThanOrEqual(2_000);
    // AND the flood really ran: far more connection attempts than the front let it hold
    expect(flood.opened).toBeGreaterThan(IDLE_CONNECTIONS);
  } finally {
    flood.stop();
  }

  // AND the ingest logged the flood as summaries (one per address and 10 s), not a line per connection
  const added = (await ingestLog()).slice(logBefore.length);
  const seconds = (Date.now() - started) / 1000;
  expect(count(added, /too many connections/)).toBeGreaterThan(0);
  expect(count(added, /too many connections/)).toBeLessThanOrEqual(Math.ceil(seconds / 10) + 1);
  expect(count(added, /worker_connections are not enough/)).toBe(0);
  expect(added.split('\n').length).toBeLessThan(20 * TRIES + seconds);
});
