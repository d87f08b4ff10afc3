import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Fn, TerraformStack, TerraformVariable } from 'cdktf';
import {
  DeliveryEncryption, Duration, Encoding, EncodingPreset, KeyRestriction, LivestackValidationError, MediaAccount,
  Platform, RuntimeImage, Secret, TokenRestrictionOptions, VerificationKey,
} from '../../constructs';

/**
 * Every bad input fails with a message naming the construct path, the field, the value received and
 * what is allowed — and nothing is written to the output directory.
 */

interface Ctx {
  app: App;
  stack: TerraformStack;
  account: MediaAccount;
}

interface BadInput {
  /** What is wrong. */
  readonly name: string;
  readonly build: (ctx: Ctx) => void;
  readonly path: string;
  readonly field: string;
  /** Part of the rendering of the received value. */
  readonly received: RegExp;
  /** Part of what the message says is allowed. */
  readonly allowed: RegExp;
}

// Untyped props, the way a JavaScript user (or a bad cast) would pass them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const any = (value: unknown): any => value;

const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA_PUBLIC_KEY = RSA.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const RSA_PRIVATE_PEM = RSA.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_PRIVATE_JWK = RSA.privateKey.export({ format: 'jwk' }) as Record<string, string>;
const RSA_PUBLIC_JWK = RSA.publicKey.export({ format: 'jwk' }) as Record<string, string>;
const RSA_1024_PUBLIC = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
const EC = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const EC_PRIVATE_JWK = EC.privateKey.export({ format: 'jwk' }) as Record<string, string>;
const EC_PUBLIC_JWK = EC.publicKey.export({ format: 'jwk' }) as Record<string, string>;
const ED25519_PUBLIC_PEM = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
const OCT_JWK = { kty: 'oct', k: randomBytes(32).toString('base64url') };
const CLEAR_STREAM_KEY = `sk-${randomBytes(12).toString('hex')}`;
const JWT_SECRET_TEXT = `jwt-${randomBytes(16).toString('hex')}`;
const URL_PASSWORD = `pw${randomBytes(8).toString('hex')}`;

/**
 * Secret and private key material used below: no message and no written file may contain any of it
 * (the PEM body lines, the private JWK members, the shared secrets, the stream key).
 */
const SECRET_MATERIAL: readonly string[] = [
  ...RSA_PRIVATE_PEM.split('\n').filter((line) => line.length > 40),
  RSA_PRIVATE_JWK.d, RSA_PRIVATE_JWK.p, RSA_PRIVATE_JWK.q, RSA_PRIVATE_JWK.dp, RSA_PRIVATE_JWK.dq, RSA_PRIVATE_JWK.qi,
  EC_PRIVATE_JWK.d, OCT_JWK.k, CLEAR_STREAM_KEY, JWT_SECRET_TEXT, URL_PASSWORD,
];

/** A token restriction with what every case needs, and what the case changes. */
const token = (options: Partial<TokenRestrictionOptions> = {}) => KeyRestriction.token({ issuer: 'https://idp.example.com', audience: 'players', ...options });

const cases: BadInput[] = [
  // MediaAccount
  { name: 'account name not a DNS label', build: (c) => new MediaAccount(c.stack, 'acct', { name: 'Demo_1' }), path: 'test/acct', field: 'name', received: /"Demo_1"/, allowed: /DNS label/ },
  { name: 'account name of the wrong type', build: (c) => new MediaAccount(c.stack, 'acct', any({ name: 123 })), path: 'test/acct', field: 'name', received: /123/, allowed: /string/ },
  { name: 'account id not a DNS label and no name', build: (c) => new MediaAccount(c.stack, 'My Account'), path: 'test/My Account', field: 'name', received: /not a DNS label/, allowed: /pass props.name/ },
  { name: 'bind address not an IP address', build: (c) => new MediaAccount(c.stack, 'acct', { bindAddress: 'localhost' }), path: 'test/acct', field: 'bindAddress', received: /"localhost"/, allowed: /IPv4 or IPv6 address/ },
  { name: 'key delivery port out of range', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { port: 70000 } }), path: 'test/acct', field: 'keyDelivery.port', received: /70000/, allowed: /at most 65535/ },
  { name: 'key delivery port of the wrong type', build: (c) => new MediaAccount(c.stack, 'acct', any({ keyDelivery: { port: '8090' } })), path: 'test/acct', field: 'keyDelivery.port', received: /"8090"/, allowed: /number/ },
  { name: 'key delivery allow list with a bad CIDR', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { allowList: ['10.0.0.0/33'] } }), path: 'test/acct', field: 'keyDelivery.allowList.0', received: /10\.0\.0\.0\/33/, allowed: /CIDR/ },
  { name: 'key delivery public URL not a URL', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: 'keys here' } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /"keys here"/, allowed: /absolute http\(s\) URL/ },
  { name: 'max channels zero', build: (c) => new MediaAccount(c.stack, 'acct', { limits: { maxChannels: 0 } }), path: 'test/acct', field: 'limits.maxChannels', received: /^0$/, allowed: /at least 1/ },
  { name: 'runtime image as a string', build: (c) => new MediaAccount(c.stack, 'acct', any({ runtimeImage: 'livestack:latest' })), path: 'test/acct', field: 'runtimeImage', received: /"livestack:latest"/, allowed: /RuntimeImage/ },
  { name: 'misspelt account prop', build: (c) => new MediaAccount(c.stack, 'acct', any({ bindAdress: '0.0.0.0' })), path: 'test/acct', field: 'bindAdress', received: /prop "bindAdress" that does not exist \(its value is not shown\)/, allowed: /no such prop/ },
  { name: 'storage volume name with a slash', build: (c) => new MediaAccount(c.stack, 'acct', { storage: { volumeName: '/var/media' } }), path: 'test/acct', field: 'storage.volumeName', received: /"\/var\/media"/, allowed: /Docker volume name/ },

  // StreamingEndpoint
  { name: 'endpoint port zero', build: (c) => c.account.addStreamingEndpoint('main', { port: 0 }), path: 'test/demo/main', field: 'port', received: /^0$/, allowed: /at least 1/ },
  { name: 'negative scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: -1 }), path: 'test/demo/main', field: 'scaleUnits', received: /-1/, allowed: /at least 0/ },
  { name: 'fractional scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: 1.5 }), path: 'test/demo/main', field: 'scaleUnits', received: /1\.5/, allowed: /int/ },
  { name: 'too many scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: 100 }), path: 'test/demo/main', field: 'scaleUnits', received: /100/, allowed: /at most 64/ },
  { name: 'CORS origin without a scheme', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['player.example.com'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /player\.example\.com/, allowed: /https:\/\/player\.example\.com .*or "\*"/ },
  { name: 'endpoint allow list as a string', build: (c) => c.account.addStreamingEndpoint('main', any({ allowList: '10.0.0.0/8' })), path: 'test/demo/main', field: 'allowList', received: /"10\.0\.0\.0\/8"/, allowed: /array/ },
  { name: 'max cache age as a number', build: (c) => c.account.addStreamingEndpoint('main', any({ maxCacheAge: 3600 })), path: 'test/demo/main', field: 'maxCacheAge', received: /3600/, allowed: /Duration/ },
  { name: 'unknown endpoint state', build: (c) => c.account.addStreamingEndpoint('main', any({ state: 'paused' })), path: 'test/demo/main', field: 'state', received: /"paused"/, allowed: /"running", "stopped"/ },
  { name: 'host name with upper case and underscore', build: (c) => c.account.addStreamingEndpoint('main', { hostNames: ['Live_TV.example.com'] }), path: 'test/demo/main', field: 'hostNames.0', received: /Live_TV/, allowed: /host name/ },
  { name: 'two endpoints with one name', build: (c) => { c.account.addStreamingEndpoint('main'); c.account.addStreamingEndpoint('other', { name: 'main' }); }, path: 'test/demo/other', field: 'name', received: /"main"/, allowed: /not already used .* test\/demo\/main/ },

  // LiveChannel
  { name: 'key frame interval too long', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: Duration.seconds(30), segmentDuration: Duration.seconds(30) }), path: 'test/demo/news', field: 'keyFrameInterval', received: /30s/, allowed: /0\.5s to 20s/ },
  { name: 'key frame interval too short', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: Duration.millis(100) }), path: 'test/demo/news', field: 'keyFrameInterval', received: /100ms/, allowed: /0\.5s to 20s/ },
  { name: 'key frame interval that does not parse', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: 'soon' }), path: 'test/demo/news', field: 'keyFrameInterval', received: /"soon"/, allowed: /duration such as "2s"/ },
  { name: 'segment not a multiple of the key frame interval', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: '2s', segmentDuration: '3s' }), path: 'test/demo/news', field: 'segmentDuration', received: /3s/, allowed: /whole multiple of the key frame interval \(2s\)/ },
  { name: 'segment shorter than the key frame interval', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: '4s', segmentDuration: '2s' }), path: 'test/demo/news', field: 'segmentDuration', received: /2s/, allowed: /whole multiple/ },
  { name: 'segment longer than 60 s', build: (c) => c.account.addLiveChannel('news', { segmentDuration: '120s' }), path: 'test/demo/news', field: 'segmentDuration', received: /2m/, allowed: /from 1s to 60s/ },
  { name: 'stream key too short', build: (c) => c.account.addLiveChannel('news', { streamKey: 'short' }), path: 'test/demo/news', field: 'streamKey', received: /secret value, not shown/, allowed: /8 to 254 of A-Z/ },
  { name: 'stream key too long for nginx-rtmp', build: (c) => c.account.addLiveChannel('news', { streamKey: 'k'.repeat(255) }), path: 'test/demo/news', field: 'streamKey', received: /secret value, not shown/, allowed: /8 to 254 of A-Z/ },
  { name: 'stream key that would split the RTMP URL', build: (c) => c.account.addLiveChannel('news', { streamKey: 'live_123?bandwidthtest=true' }), path: 'test/demo/news', field: 'streamKey', received: /secret value, not shown/, allowed: /unescaped at the end of an RTMP URL/ },
  { name: 'plain-text Secret stream key with a slash', build: (c) => c.account.addLiveChannel('news', { streamKey: Secret.plainText('abc/defghijk') }), path: 'test/demo/news', field: 'streamKey', received: /stream key of 12 characters \(not shown\)/, allowed: /8 to 254 of A-Z/ },
  { name: 'stream key of the wrong type', build: (c) => c.account.addLiveChannel('news', any({ streamKey: 42 })), path: 'test/demo/news', field: 'streamKey', received: /42/, allowed: /Secret/ },
  { name: 'stream key from a variable that is not sensitive', build: (c) => c.account.addLiveChannel('news', { streamKey: new TerraformVariable(c.stack, 'key', { type: 'string' }).stringValue }), path: 'test/demo/news', field: 'streamKey', received: /without sensitive: true/, allowed: /sensitive: true/ },
  { name: 'stream key from a token that is not a variable', build: (c) => c.account.addLiveChannel('news', { streamKey: Fn.upper(new TerraformVariable(c.stack, 'key', { type: 'string', sensitive: true }).stringValue) }), path: 'test/demo/news', field: 'streamKey', received: /not a Terraform variable/, allowed: /sensitive TerraformVariable/ },
  { name: 'unsupported ingest protocol', build: (c) => c.account.addLiveChannel('news', any({ protocols: ['webrtc'] })), path: 'test/demo/news', field: 'protocols.0', received: /"webrtc"/, allowed: /"rtmp", "srt"/ },
  { name: 'the ingest protocol as a single string', build: (c) => c.account.addLiveChannel('news', any({ protocols: 'srt' })), path: 'test/demo/news', field: 'protocols', received: /"srt"/, allowed: /\["rtmp"\], \["srt"\] or \["rtmp", "srt"\]/ },
  { name: 'no ingest protocol', build: (c) => c.account.addLiveChannel('news', { protocols: [] }), path: 'test/demo/news', field: 'protocols', received: /array of 0/, allowed: /at least 1 items/ },
  { name: 'an ingest protocol twice', build: (c) => c.account.addLiveChannel('news', { protocols: ['srt', 'srt'] }), path: 'test/demo/news', field: 'protocols', received: /"srt","srt"/, allowed: /each protocol once/ },
  { name: 'SRT settings on an RTMP-only channel', build: (c) => c.account.addLiveChannel('news', { srt: { keyLength: 32 } }), path: 'test/demo/news', field: 'srt', received: /protocols \["rtmp"\]/, allowed: /only with "srt" in protocols/ },
  { name: 'SRT key length that AES does not have', build: (c) => c.account.addLiveChannel('news', any({ protocols: ['srt'], srt: { keyLength: 20 } })), path: 'test/demo/news', field: 'srt.keyLength', received: /20/, allowed: /16, 24 or 32 \(bytes: AES-128, AES-192, AES-256\)/ },
  { name: 'the SRT key length under its old name', build: (c) => c.account.addLiveChannel('news', any({ protocols: ['srt'], srt: { minKeyLength: 32 } })), path: 'test/demo/news', field: 'srt.minKeyLength', received: /a prop "minKeyLength" that does not exist/, allowed: /no such prop/ },
  { name: 'an SRT latency below 20 ms', build: (c) => c.account.addLiveChannel('news', { protocols: ['srt'], srt: { latency: Duration.millis(10) } }), path: 'test/demo/news', field: 'srt.latency', received: /^10ms$/, allowed: /from 20ms to 8s, in whole milliseconds \(SRT's latency: how long a lost packet is asked for again\)/ },
  { name: 'an SRT latency above 8 s', build: (c) => c.account.addLiveChannel('news', { protocols: ['srt'], srt: { latency: '9s' } }), path: 'test/demo/news', field: 'srt.latency', received: /^9s$/, allowed: /from 20ms to 8s/ },
  { name: 'an SRT latency in fractions of a millisecond', build: (c) => c.account.addLiveChannel('news', { protocols: ['srt'], srt: { latency: Duration.millis(120.5) } }), path: 'test/demo/news', field: 'srt.latency', received: /121ms|120\.5/, allowed: /whole milliseconds/ },
  { name: 'an SRT latency that is not a duration', build: (c) => c.account.addLiveChannel('news', any({ protocols: ['srt'], srt: { latency: 'fast' } })), path: 'test/demo/news', field: 'srt.latency', received: /"fast"/, allowed: /a duration such as "2s", "500ms"/ },
  { name: 'an SRT latency as a bare number', build: (c) => c.account.addLiveChannel('news', any({ protocols: ['srt'], srt: { latency: 120 } })), path: 'test/demo/news', field: 'srt.latency', received: /120/, allowed: /a Duration or a duration string/ },
  { name: 'SRT port out of range', build: (c) => c.account.addLiveChannel('news', { protocols: ['srt'], srt: { port: 70000 } }), path: 'test/demo/news', field: 'srt.port', received: /70000/, allowed: /at most 65535/ },
  { name: 'a plain-text stream key on a channel with SRT', build: (c) => c.account.addLiveChannel('news', { protocols: ['rtmp', 'srt'], streamKey: 'a-key-written-in-code' }), path: 'test/demo/news', field: 'streamKey', received: /plain-text stream key \(livestack keeps only its hash\)/, allowed: /the key is the SRT passphrase, which the listener needs in clear/ },
  { name: 'ingest allow list with an impossible address', build: (c) => c.account.addLiveChannel('news', { ingestAllowList: ['300.1.1.1'] }), path: 'test/demo/news', field: 'ingestAllowList.0', received: /300\.1\.1\.1/, allowed: /CIDR/ },
  { name: 'custom ladder with an odd width', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 1279, height: 720, bitrateKbps: 3000 }] })) }), path: 'test/demo/news', field: 'encoding.ladder.0.width', received: /1279/, allowed: /even/ },
  { name: 'encoding given as a preset name', build: (c) => c.account.addLiveChannel('news', any({ encoding: 'Default720p' })), path: 'test/demo/news', field: 'encoding', received: /"Default720p"/, allowed: /Encoding\.standard/ },
  { name: 'channel port not an integer', build: (c) => c.account.addLiveChannel('news', { port: 1935.5 }), path: 'test/demo/news', field: 'port', received: /1935\.5/, allowed: /int/ },
  { name: 'more channels than the account allows', build: (c) => { for (let i = 0; i < 6; i++) c.account.addLiveChannel(`ch${i}`); }, path: 'test/demo/ch5', field: 'channels', received: /channel number 6/, allowed: /at most 5 channels/ },

  // Program
  { name: 'archive window under 5 minutes', build: (c) => c.account.addLiveChannel('news').addProgram('live', { archiveWindow: Duration.minutes(1) }), path: 'test/demo/news/live', field: 'archiveWindow', received: /1m/, allowed: /5m to 25h/ },
  { name: 'archive window over 25 hours', build: (c) => c.account.addLiveChannel('news').addProgram('live', { archiveWindow: Duration.hours(26) }), path: 'test/demo/news/live', field: 'archiveWindow', received: /26h/, allowed: /5m to 25h/ },
  { name: 'archive window that does not parse', build: (c) => c.account.addLiveChannel('news').addProgram('live', { archiveWindow: '2 hours' }), path: 'test/demo/news/live', field: 'archiveWindow', received: /"2 hours"/, allowed: /5m to 25h/ },
  { name: 'manifest name with a space', build: (c) => c.account.addLiveChannel('news').addProgram('live', { manifestName: 'my manifest' }), path: 'test/demo/news/live', field: 'manifestName', received: /"my manifest"/, allowed: /A-Z, a-z, 0-9/ },
  { name: 'a fourth running program', build: (c) => { const ch = c.account.addLiveChannel('news'); for (const p of ['a', 'b', 'c', 'd']) ch.addProgram(p); }, path: 'test/demo/news/d', field: 'state', received: /program number 4/, allowed: /at most 3 running programs/ },
  { name: 'two programs recording into one asset', build: (c) => { const ch = c.account.addLiveChannel('news'); ch.addProgram('a', { assetName: 'shared' }); ch.addProgram('b', { assetName: 'shared' }); }, path: 'test/demo/news/b', field: 'assetName', received: /"shared"/, allowed: /asset name not already used/ },

  { name: 'program ending before it starts', build: (c) => c.account.addLiveChannel('news').addProgram('live', { start: '2026-06-02T00:00:00Z', end: '2026-06-01T00:00:00Z' }), path: 'test/demo/news/live', field: 'end', received: /2026-06-01T00:00:00\.000Z/, allowed: /a time after start \(2026-06-02T00:00:00\.000Z\)/ },
  { name: 'program ending the moment it starts', build: (c) => c.account.addLiveChannel('news').addProgram('live', { start: new Date('2026-06-01T18:00:00Z'), end: '2026-06-01T20:00:00+02:00' }), path: 'test/demo/news/live', field: 'end', received: /2026-06-01T18:00:00\.000Z/, allowed: /after start/ },
  { name: 'program start that is not ISO 8601', build: (c) => c.account.addLiveChannel('news').addProgram('live', { start: 'next friday' }), path: 'test/demo/news/live', field: 'start', received: /"next friday"/, allowed: /ISO 8601/ },
  { name: 'program start without a zone', build: (c) => c.account.addLiveChannel('news').addProgram('live', { start: '2026-06-01T18:00:00' }), path: 'test/demo/news/live', field: 'start', received: /"2026-06-01T18:00:00"/, allowed: /with zone/ },
  { name: 'program end as a number', build: (c) => c.account.addLiveChannel('news').addProgram('live', any({ end: 1767225600000 })), path: 'test/demo/news/live', field: 'end', received: /1767225600000/, allowed: /a Date or an ISO 8601/ },
  { name: 'program start an invalid Date', build: (c) => c.account.addLiveChannel('news').addProgram('live', { start: new Date('not a date') }), path: 'test/demo/news/live', field: 'start', received: /invalid Date/, allowed: /Date/ },

  // MediaAccount on Kubernetes
  { name: 'platform given as a string', build: (c) => new MediaAccount(c.stack, 'k8s', any({ platform: 'kubernetes', keyDelivery: { port: 9190 } })), path: 'test/k8s', field: 'platform', received: /"kubernetes"/, allowed: /Platform\.docker\(\), Platform\.swarm\(\{\.\.\.\}\) or Platform\.kubernetes/ },
  { name: 'shared storage on a relative path', build: (c) => new MediaAccount(c.stack, 'acct', { storage: { shared: { hostPath: 'mnt/media' } } }), path: 'test/acct', field: 'storage.shared.hostPath', received: /"mnt\/media"/, allowed: /absolute, normalised host path/ },
  { name: 'shared storage climbing out with ..', build: (c) => new MediaAccount(c.stack, 'acct', { storage: { shared: { hostPath: '/mnt/../etc' } } }), path: 'test/acct', field: 'storage.shared.hostPath', received: /"\/mnt\/\.\.\/etc"/, allowed: /no "\.\."/ },
  { name: 'both a volume and shared storage', build: (c) => new MediaAccount(c.stack, 'acct', { storage: { volumeName: 'media', shared: { hostPath: '/mnt/media' } } }), path: 'test/acct', field: 'storage', received: /volumeName/, allowed: /either volumeName .* or shared/ },
  { name: 'unknown swarm publish mode', build: (c) => new MediaAccount(c.stack, 'sw', { runtimeImage: RuntimeImage.fromName('r/i:1'), platform: Platform.swarm({ publishMode: any('mesh') }) }), path: 'test/sw', field: 'platform.publishMode', received: /"mesh"/, allowed: /"ingress", "host"/ },
  { name: 'swarm constraint without an operator', build: (c) => new MediaAccount(c.stack, 'sw', { runtimeImage: RuntimeImage.fromName('r/i:1'), platform: Platform.swarm({ placement: { constraints: ['node.labels.media'] } }) }), path: 'test/sw', field: 'platform.placement.constraints.0', received: /"node\.labels\.media"/, allowed: /node\.labels\.media==true/ },
  { name: 'an image built on one host, on a swarm', build: (c) => { new MediaAccount(c.stack, 'sw', { keyDelivery: { port: 9190 }, runtimeImage: RuntimeImage.build(), platform: Platform.swarm() }); }, path: 'test/sw', field: 'runtimeImage', received: /RuntimeImage\.build\(\)/, allowed: /docker save \| docker load/ },
  { name: 'namespace not a DNS label', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ namespace: 'Live_TV' }) }), path: 'test/k8s', field: 'platform.namespace', received: /"Live_TV"/, allowed: /DNS label/ },
  { name: 'storage size not a quantity', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ storage: { size: '100 GB' } }) }), path: 'test/k8s', field: 'platform.storage.size', received: /"100 GB"/, allowed: /"100Gi"/ },
  { name: 'CPU request not a quantity', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ resources: { ingest: { requests: { cpu: '2 cores' } } } }) }), path: 'test/k8s', field: 'platform.resources.ingest.requests.cpu', received: /"2 cores"/, allowed: /"500m"/ },
  { name: 'unknown Service type', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ services: { ingest: { type: any('Ingress') } } }) }), path: 'test/k8s', field: 'platform.services.ingest.type', received: /"Ingress"/, allowed: /"ClusterIP", "NodePort", "LoadBalancer"/ },
  { name: 'misspelt Kubernetes option', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes(any({ namespce: 'live' })) }), path: 'test/k8s', field: 'platform.namespce', received: /prop "namespce" that does not exist \(its value is not shown\)/, allowed: /no such prop/ },
  { name: 'an image a cluster cannot pull', build: (c) => { new MediaAccount(c.stack, 'k8s', { keyDelivery: { port: 9190 }, runtimeImage: RuntimeImage.build(), platform: Platform.kubernetes() }); }, path: 'test/k8s', field: 'runtimeImage', received: /RuntimeImage\.build\(\)/, allowed: /RuntimeImage\.fromName/ },
  { name: 'a Service override for an endpoint that does not exist', build: (c) => { new MediaAccount(c.stack, 'k8s', { keyDelivery: { port: 9190 }, runtimeImage: RuntimeImage.fromName('r/i:1'), platform: Platform.kubernetes({ services: { endpoints: { mian: { type: 'NodePort' } } } }) }).addStreamingEndpoint('main', { port: 9180 }); }, path: 'test/k8s', field: 'platform.services.endpoints.mian', received: /"mian"/, allowed: /streaming endpoint of account k8s \(main\)/ },
  { name: 'scale units above the autoscaler maximum', build: (c) => { new MediaAccount(c.stack, 'k8s', { keyDelivery: { port: 9190 }, runtimeImage: RuntimeImage.fromName('r/i:1'), platform: Platform.kubernetes({ originAutoscaling: { maxReplicas: 2 } }) }).addStreamingEndpoint('main', { port: 9180, scaleUnits: 3 }); }, path: 'test/k8s/main', field: 'scaleUnits', received: /3 \(above platform\.originAutoscaling\.maxReplicas 2\)/, allowed: /at most 2 scale units/ },
  { name: 'envelope encryption on Kubernetes without a public key URL', build: (c) => { const a = new MediaAccount(c.stack, 'k8s', { keyDelivery: { port: 9190 }, runtimeImage: RuntimeImage.fromName('r/i:1'), platform: Platform.kubernetes() }); a.addLiveChannel('news', { port: 9935 }).addProgram('live').publish(a.addStreamingEndpoint('main', { port: 9180 }), { deliveryPolicy: a.addDeliveryPolicy('p', { protocols: ['hls'], encryption: DeliveryEncryption.envelope(a.addKeyPolicy('k')) }) }); }, path: 'test/k8s', field: 'keyDelivery.publicBaseUrl', received: /locator news-live-locator-main is envelope-encrypted/, allowed: /its Service has its own address/ },

  // KeyPolicy
  { name: 'token policy with an empty issuer', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: '', audience: 'a' }) }), path: 'test/demo/viewers', field: 'restriction.issuer', received: /""/, allowed: /at least 1 characters/ },
  { name: 'token policy allowing alg none', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: 'i', audience: 'a', algorithms: any(['none']) }) }), path: 'test/demo/viewers', field: 'restriction.algorithms.0', received: /"none"/, allowed: /never accepted/ },
  { name: 'token policy pinned to RS256 with a symmetric key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: 'i', audience: 'a', algorithms: ['RS256'], keys: [VerificationKey.symmetric()] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0', received: /oct key/, allowed: /pinned algorithms \["RS256"\]/ },
  { name: 'token policy pinned to HS256 with an RSA key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: 'i', audience: 'a', algorithms: ['HS256'], keys: [VerificationKey.publicKeyPem(RSA_PUBLIC_KEY)] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0', received: /RSA key/, allowed: /confusion/ },
  { name: 'JWT secret given in clear', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: 'i', audience: 'a', keys: [VerificationKey.symmetric(Secret.plainText('a-very-long-shared-secret-value!'))] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.secret', received: /plain-text secret/, allowed: /written to cdk\.tf\.json/ },
  { name: 'public key that is not a key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: KeyRestriction.token({ issuer: 'i', audience: 'a', algorithms: ['RS256'], keys: [VerificationKey.publicKeyPem('-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----')] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.pem', received: /not a public key/, allowed: /PEM/ },
  { name: 'IP restriction with a bad address', build: (c) => c.account.addKeyPolicy('office', { restriction: KeyRestriction.ip(['nope']) }), path: 'test/demo/office', field: 'restriction.allowList.0', received: /"nope"/, allowed: /CIDR/ },
  { name: 'restriction given as a string', build: (c) => c.account.addKeyPolicy('viewers', any({ restriction: 'open' })), path: 'test/demo/viewers', field: 'restriction', received: /"open"/, allowed: /KeyRestriction/ },
  { name: 'unsupported key type', build: (c) => c.account.addKeyPolicy('viewers', any({ keyType: 'cenc' })), path: 'test/demo/viewers', field: 'keyType', received: /"cenc"/, allowed: /"aes-128"/ },

  // DeliveryPolicy
  { name: 'envelope encryption on DASH', build: (c) => c.account.addDeliveryPolicy('protected', { protocols: ['hls', 'dash'], encryption: DeliveryEncryption.envelope(c.account.addKeyPolicy('viewers')) }), path: 'test/demo/protected', field: 'protocols', received: /"dash"/, allowed: /only \["hls"\] with envelope/ },
  { name: 'unknown protocol', build: (c) => c.account.addDeliveryPolicy('p', any({ protocols: ['rtmp'] })), path: 'test/demo/p', field: 'protocols.0', received: /"rtmp"/, allowed: /"hls", "dash"/ },
  { name: 'no protocol', build: (c) => c.account.addDeliveryPolicy('p', { protocols: [] }), path: 'test/demo/p', field: 'protocols', received: /array of 0/, allowed: /at least 1 items/ },
  { name: 'cenc on HLS', build: (c) => c.account.addDeliveryPolicy('drm', { protocols: ['hls', 'dash'], encryption: DeliveryEncryption.cenc(c.account.addKeyPolicy('viewers')) }), path: 'test/demo/drm', field: 'protocols', received: /\["hls","dash"\]/, allowed: /only \["dash"\] with cenc: HLS carries common encryption as SAMPLE-AES, the cbcs scheme/ },
  { name: 'cbcs with a key system that is not provided', build: (c) => c.account.addDeliveryPolicy('drm', { encryption: DeliveryEncryption.cbcs(c.account.addKeyPolicy('viewers'), { keySystems: any(['widevine']) }) }), path: 'test/demo/drm', field: 'encryption.keySystems', received: /"widevine"/, allowed: /\["clearkey"\].*KeyProvider/ },
  { name: 'cenc with no key system', build: (c) => c.account.addDeliveryPolicy('drm', { encryption: DeliveryEncryption.cenc(c.account.addKeyPolicy('viewers'), { keySystems: [] }) }), path: 'test/demo/drm', field: 'encryption.keySystems', received: /\[\]/, allowed: /one or more of/ },
  { name: 'cbcs with a key policy of another account', build: (c) => { const other = new MediaAccount(c.stack, 'other', { keyDelivery: { port: 9096 } }); c.account.addDeliveryPolicy('p', { encryption: DeliveryEncryption.cbcs(other.addKeyPolicy('k')) }); }, path: 'test/demo/p', field: 'encryption.keyPolicy', received: /test\/other\/k/, allowed: /same account/ },
  { name: 'a cbcs locator on every interface with no host for license URLs', build: (c) => { const wide = new MediaAccount(c.stack, 'wide', { bindAddress: '0.0.0.0', keyDelivery: { port: 9097 } }); const policy = wide.addDeliveryPolicy('drm', { encryption: DeliveryEncryption.cbcs(wide.addKeyPolicy('viewers')) }); wide.addLiveChannel('news', { port: 2937 }).addProgram('live').publish(wide.addStreamingEndpoint('main', { port: 9082 }), { deliveryPolicy: policy }); }, path: 'test/wide/main', field: 'hostNames', received: /bindAddress 0\.0\.0\.0/, allowed: /keyDelivery\.publicBaseUrl/ },
  { name: 'envelope with a key policy of another account', build: (c) => { const other = new MediaAccount(c.stack, 'other', { keyDelivery: { port: 9090 } }); c.account.addDeliveryPolicy('p', { encryption: DeliveryEncryption.envelope(other.addKeyPolicy('k')) }); }, path: 'test/demo/p', field: 'encryption.keyPolicy', received: /test\/other\/k/, allowed: /same account/ },

  // Locator
  { name: 'locator ending before it starts', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { start: '2026-06-02T00:00:00Z', end: '2026-06-01T00:00:00Z' }), path: 'test/demo/news/live/Locator-main', field: 'end', received: /2026-06-01/, allowed: /after start/ },
  { name: 'locator start that is not ISO 8601', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { start: 'tomorrow' }), path: 'test/demo/news/live/Locator-main', field: 'start', received: /"tomorrow"/, allowed: /ISO 8601/ },
  { name: 'locator on an endpoint of another account', build: (c) => { const other = new MediaAccount(c.stack, 'other', { keyDelivery: { port: 9090 } }); c.account.addLiveChannel('news').addProgram('live').publish(other.addStreamingEndpoint('remote', { port: 9080 })); }, path: 'test/demo/news/live/Locator-remote', field: 'endpoint', received: /test\/other\/remote/, allowed: /program's account demo/ },
  { name: 'locator without an endpoint', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(any(undefined)), path: 'test/demo/news/live/Locator-endpoint', field: 'endpoint', received: /nothing/, allowed: /a StreamingEndpoint construct/ },
  { name: 'locator id that is not a UUID', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { locatorId: 'abc' }), path: 'test/demo/news/live/Locator-main', field: 'locatorId', received: /"abc"/, allowed: /UUID/ },

  // Issue 9: secrets and private key material where public keys are expected
  { name: 'JWKS holding a private RSA key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [RSA_PRIVATE_JWK] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /private JWK \(kty "RSA" with private members d, p, q, dp, dq, qi; values not shown\)/, allowed: /public JWK/ },
  { name: 'JWKS holding a private EC key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [EC_PRIVATE_JWK] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /private JWK \(kty "EC" with private member d/, allowed: /without private members/ },
  { name: 'JWKS holding a symmetric key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [OCT_JWK] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /symmetric JWK \(kty "oct"; its secret is not shown\)/, allowed: /VerificationKey\.symmetric\(Secret/ },
  { name: 'private key as its second JWK', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [RSA_PUBLIC_JWK, { ...RSA_PUBLIC_JWK, d: RSA_PRIVATE_JWK.d }] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.1', received: /private member d;/, allowed: /public JWK/ },
  { name: 'private key PEM given as a public key', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.publicKeyPem(RSA_PRIVATE_PEM)] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.pem', received: /a PRIVATE key \(not shown/, allowed: /public half/ },
  { name: 'RSA public key of 1024 bits', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.publicKeyPem(RSA_1024_PUBLIC.export({ type: 'spki', format: 'pem' }).toString())] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.pem', received: /RSA public key of 1024 bits/, allowed: /2048 bits or more/ },
  { name: 'RSA JWK of 1024 bits', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [RSA_1024_PUBLIC.export({ format: 'jwk' }) as Record<string, unknown>] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /RSA public key of 1024 bits/, allowed: /2048 bits or more/ },
  { name: 'RSA JWK with a garbage modulus', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [{ kty: 'RSA', e: 'AQAB', n: 'garbage!!' }] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /RSA (JWK that is not a valid public key|public key of \d+ bits)/, allowed: /public JWK/ },
  { name: 'EC JWK with a point off the curve', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [{ ...EC_PUBLIC_JWK, y: EC_PUBLIC_JWK.x }] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /EC JWK that is not a valid public key/, allowed: /public JWK/ },
  { name: 'JWK without a key type', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwks({ keys: [{ n: RSA_PUBLIC_JWK.n, e: 'AQAB' }] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks.keys.0', received: /kty null/, allowed: /kty "RSA"/ },
  { name: 'empty JWKS', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwks({ keys: [] })] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.jwks', received: /without keys/, allowed: /at least one public key/ },
  { name: 'JWKS URL with a space', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwksUrl('https://idp.example.com/jwks .json')] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.url', received: /"https:\/\/idp\.example\.com\/jwks \.json"/, allowed: /without credentials, spaces/ },
  { name: 'JWKS URL with credentials', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwksUrl(`https://user:${URL_PASSWORD}@idp.example.com/jwks.json`)] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.url', received: /"https:\/\/user:\(not shown\)@idp/, allowed: /without credentials/ },
  { name: 'JWKS URL of a file', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwksUrl('file:///etc/passwd')] }) }), path: 'test/demo/viewers', field: 'restriction.keys.0.url', received: /"file:\/\/\/etc\/passwd"/, allowed: /http\(s\) URL/ },
  { name: 'required exp pinned to a value', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requiredClaims: { exp: 1767225600 } }) }), path: 'test/demo/viewers', field: 'restriction.requiredClaims.exp', received: /1767225600/, allowed: /null \(present, any value\)/ },
  { name: 'required nbf pinned to a value', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requiredClaims: { nbf: 0 } }) }), path: 'test/demo/viewers', field: 'restriction.requiredClaims.nbf', received: /^0$/, allowed: /time claim/ },
  { name: 'required iss contradicting the issuer', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requiredClaims: { iss: 'https://other.example.com' } }) }), path: 'test/demo/viewers', field: 'restriction.requiredClaims.iss', received: /other\.example\.com/, allowed: /the issuer "https:\/\/idp\.example\.com"/ },
  { name: 'required aud contradicting the audience', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requiredClaims: { aud: 'admins' } }) }), path: 'test/demo/viewers', field: 'restriction.requiredClaims.aud', received: /"admins"/, allowed: /the audience "players"/ },
  { name: 'clock skew of two hours', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ clockSkew: Duration.hours(2) }) }), path: 'test/demo/viewers', field: 'restriction.clockSkew', received: /Duration 2h/, allowed: /from 0s to 5m/ },
  { name: 'negative clock skew', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ clockSkew: Duration.seconds(-5) }) }), path: 'test/demo/viewers', field: 'restriction.clockSkew', received: /Duration -5s/, allowed: /0 or more/ },
  { name: 'token lifetime of ten years', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ maxLifetime: Duration.days(3650) }) }), path: 'test/demo/viewers', field: 'restriction.maxLifetime', received: /Duration 3650d|Duration 87600h/, allowed: /from 1m to/ },
  { name: 'token lifetime of one second', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ maxLifetime: Duration.seconds(1) }) }), path: 'test/demo/viewers', field: 'restriction.maxLifetime', received: /Duration 1s/, allowed: /from 1m/ },
  { name: 'require expiry given as a string', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requireExpiry: any('yes') }) }), path: 'test/demo/viewers', field: 'restriction.requireExpiry', received: /"yes"/, allowed: /boolean/ },
  { name: 'misspelt token option with a secret in it', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token(any({ secret: JWT_SECRET_TEXT })) }), path: 'test/demo/viewers', field: 'restriction.secret', received: /prop "secret" that does not exist/, allowed: /no such prop/ },
  { name: 'misspelt stream key prop', build: (c) => c.account.addLiveChannel('news', any({ streamkey: CLEAR_STREAM_KEY })), path: 'test/demo/news', field: 'streamkey', received: /prop "streamkey" that does not exist \(its value is not shown\)/, allowed: /no such prop/ },
  { name: 'stream key with a newline', build: (c) => c.account.addLiveChannel('news', { streamKey: `${CLEAR_STREAM_KEY}\nx` }), path: 'test/demo/news', field: 'streamKey', received: /secret value, not shown/, allowed: /8 to 254/ },

  // Issue 9: addresses, URLs, origins
  { name: 'bind address with impossible octets', build: (c) => new MediaAccount(c.stack, 'acct', { bindAddress: '999.999.999.999' }), path: 'test/acct', field: 'bindAddress', received: /"999\.999\.999\.999"/, allowed: /IPv4 or IPv6 address/ },
  { name: 'bind address with a port', build: (c) => new MediaAccount(c.stack, 'acct', { bindAddress: 'localhost:8080' }), path: 'test/acct', field: 'bindAddress', received: /"localhost:8080"/, allowed: /no host name, no port/ },
  { name: 'bind address of colons only', build: (c) => new MediaAccount(c.stack, 'acct', { bindAddress: ':::' }), path: 'test/acct', field: 'bindAddress', received: /":::"/, allowed: /IPv6/ },
  { name: 'key URL with a javascript: scheme', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: 'javascript:alert(1)' } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /"javascript:alert\(1\)"/, allowed: /http\(s\) URL/ },
  { name: 'key URL with a query that would swallow the key path', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: 'https://keys.example.com/?next=' } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /\?next=/, allowed: /without credentials, query or fragment/ },
  { name: 'key URL with a quote that would end the EXT-X-KEY attribute', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: 'https://keys.example.com/",IV=0x00' } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /IV=0x00/, allowed: /http\(s\) URL/ },
  { name: 'key URL with credentials', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: `https://admin:${URL_PASSWORD}@keys.example.com` } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /admin:\(not shown\)@/, allowed: /without credentials/ },
  { name: 'CORS origin with spaces', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['https://a.example.com https://b.example.com'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /a\.example\.com https/, allowed: /scheme, host, optional port/ },
  { name: 'CORS origin with a path', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['https://player.example.com/app'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /\/app/, allowed: /nothing else/ },
  { name: 'CORS origin "null"', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['null'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /"null"/, allowed: /an origin/ },
  { name: 'CORS origin with a header break', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['https://a.example.com\r\nSet-Cookie: x=1'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /a\.example\.com/, allowed: /an origin/ },
  { name: 'ingest allow list of hex and colons', build: (c) => c.account.addLiveChannel('news', { ingestAllowList: ['dead:beef'] }), path: 'test/demo/news', field: 'ingestAllowList.0', received: /"dead:beef"/, allowed: /IPv4\/IPv6 address/ },
  { name: 'ingest allow list with an IPv6 prefix over 128', build: (c) => c.account.addLiveChannel('news', { ingestAllowList: ['2001:db8::/129'] }), path: 'test/demo/news', field: 'ingestAllowList.0', received: /\/129/, allowed: /CIDR/ },
  { name: 'ingest allow list with an IPv4 of three parts', build: (c) => c.account.addLiveChannel('news', { ingestAllowList: ['10.0.1/24'] }), path: 'test/demo/news', field: 'ingestAllowList.0', received: /"10\.0\.1\/24"/, allowed: /CIDR/ },
  { name: 'preview allow list with a host name', build: (c) => c.account.addLiveChannel('news', { previewAllowList: ['localhost'] }), path: 'test/demo/news', field: 'previewAllowList.0', received: /"localhost"/, allowed: /CIDR/ },
  { name: 'endpoint allow list with a prefix in words', build: (c) => c.account.addStreamingEndpoint('main', { allowList: ['10.0.0.0/eight'] }), path: 'test/demo/main', field: 'allowList.0', received: /eight/, allowed: /CIDR/ },
  { name: 'host name with a trailing space', build: (c) => c.account.addStreamingEndpoint('main', { hostNames: ['live.example.com '] }), path: 'test/demo/main', field: 'hostNames.0', received: /"live\.example\.com "/, allowed: /host name/ },
  { name: 'host name with a port', build: (c) => c.account.addStreamingEndpoint('main', { hostNames: ['live.example.com:443'] }), path: 'test/demo/main', field: 'hostNames.0', received: /:443/, allowed: /host name/ },
  { name: 'network name with a shell metacharacter', build: (c) => new MediaAccount(c.stack, 'acct', { network: { name: 'net;rm -rf /' } }), path: 'test/acct', field: 'network.name', received: /net;rm/, allowed: /Docker network name/ },

  { name: 'protected locator on every interface with no host for key URIs', build: (c) => { const wide = new MediaAccount(c.stack, 'wide', { bindAddress: '0.0.0.0', keyDelivery: { port: 9094 } }); const policy = wide.addDeliveryPolicy('protected', { encryption: DeliveryEncryption.envelope(wide.addKeyPolicy('viewers')) }); wide.addLiveChannel('news', { port: 2935 }).addProgram('live').publish(wide.addStreamingEndpoint('main', { port: 9080 }), { deliveryPolicy: policy }); }, path: 'test/wide/main', field: 'hostNames', received: /bindAddress 0\.0\.0\.0/, allowed: /keyDelivery\.publicBaseUrl/ },

  // Issue 9: durations that are no lengths of time
  { name: 'key frame interval of NaN seconds', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: Duration.seconds(NaN) }), path: 'test/demo/news', field: 'keyFrameInterval', received: /Duration NaN seconds/, allowed: /Duration/ },
  { name: 'segment duration of infinite seconds', build: (c) => c.account.addLiveChannel('news', { segmentDuration: Duration.seconds(Infinity) }), path: 'test/demo/news', field: 'segmentDuration', received: /Duration Infinity seconds/, allowed: /Duration/ },
  { name: 'negative max cache age', build: (c) => c.account.addStreamingEndpoint('main', { maxCacheAge: Duration.seconds(-60) }), path: 'test/demo/main', field: 'maxCacheAge', received: /Duration -1m|Duration -60s/, allowed: /0 or more/ },
  { name: 'max cache age over a year', build: (c) => c.account.addStreamingEndpoint('main', { maxCacheAge: Duration.days(400) }), path: 'test/demo/main', field: 'maxCacheAge', received: /Duration 9600h/, allowed: /from 0s to 8760h/ },
  { name: 'archive window of NaN hours', build: (c) => c.account.addLiveChannel('news').addProgram('live', { archiveWindow: Duration.hours(NaN) }), path: 'test/demo/news/live', field: 'archiveWindow', received: /Duration NaN seconds/, allowed: /Duration/ },
  { name: 'negative key frame interval as text', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: '-2s' }), path: 'test/demo/news', field: 'keyFrameInterval', received: /"-2s"/, allowed: /duration such as/ },

  // Issue 9: ladders, ports, names
  { name: 'two rungs with one explicit name', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ name: 'hd', width: 1280, height: 720, bitrateKbps: 3000 }, { name: 'hd', width: 640, height: 360, bitrateKbps: 800 }] })) }), path: 'test/demo/news', field: 'encoding.ladder.1.name', received: /"hd"/, allowed: /distinct names/ },
  { name: 'two rungs both defaulting to 720p', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 1280, height: 720, bitrateKbps: 3000 }, { width: 960, height: 720, bitrateKbps: 2000 }] })) }), path: 'test/demo/news', field: 'encoding.ladder.1.name', received: /"720p"/, allowed: /default name is `<height>p`/ },
  { name: 'rung name with a path separator', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ name: '../hd', width: 1280, height: 720, bitrateKbps: 3000 }] })) }), path: 'test/demo/news', field: 'encoding.ladder.0.name', received: /"\.\.\/hd"/, allowed: /DNS label/ },
  { name: 'nine rungs', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: Array.from({ length: 9 }, (_v, i) => ({ name: `r${i}`, width: 640, height: 360, bitrateKbps: 500 })) })) }), path: 'test/demo/news', field: 'encoding.ladder', received: /array of 9/, allowed: /at most 8 items/ },
  { name: 'audio bitrate of 16 kbit/s', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 640, height: 360, bitrateKbps: 800 }], audioBitrateKbps: 16 })) }), path: 'test/demo/news', field: 'encoding.audioBitrateKbps', received: /^16$/, allowed: /at least 32/ },
  { name: 'video bitrate of NaN', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ width: 640, height: 360, bitrateKbps: NaN }] })) }), path: 'test/demo/news', field: 'encoding.ladder.0.videoBitrateKbps', received: /NaN/, allowed: /number/ },
  { name: 'channel port of NaN', build: (c) => c.account.addLiveChannel('news', { port: NaN }), path: 'test/demo/news', field: 'port', received: /NaN/, allowed: /number/ },
  { name: 'endpoint port above 65535', build: (c) => c.account.addStreamingEndpoint('main', { port: 65536 }), path: 'test/demo/main', field: 'port', received: /65536/, allowed: /at most 65535/ },
  { name: 'channel on the key delivery port', build: (c) => c.account.addLiveChannel('news', { port: 8090 }), path: 'test/demo/news', field: 'port', received: /8090 \(channel ingest\)/, allowed: /key delivery\) uses 8090/ },
  { name: 'asset name with a path traversal', build: (c) => c.account.addLiveChannel('news').addProgram('live', { assetName: '../../etc' }), path: 'test/demo/news/live', field: 'assetName', received: /"\.\.\/\.\.\/etc"/, allowed: /DNS label/ },
  { name: 'manifest name with a path traversal', build: (c) => c.account.addLiveChannel('news').addProgram('live', { manifestName: '../index' }), path: 'test/demo/news/live', field: 'manifestName', received: /"\.\.\/index"/, allowed: /A-Z, a-z, 0-9/ },
  { name: 'channel name in capitals', build: (c) => c.account.addLiveChannel('news', { name: 'NEWS' }), path: 'test/demo/news', field: 'name', received: /"NEWS"/, allowed: /DNS label/ },
  { name: 'channel name of 64 characters', build: (c) => c.account.addLiveChannel('news', { name: 'a'.repeat(64) }), path: 'test/demo/news', field: 'name', received: /"a{64}"/, allowed: /DNS label/ },
  { name: 'max channels above 10,000', build: (c) => new MediaAccount(c.stack, 'acct', { limits: { maxChannels: 10_001 } }), path: 'test/acct', field: 'limits.maxChannels', received: /10001/, allowed: /at most 10000/ },

  // Issue 9: locators
  { name: 'program published twice to one endpoint', build: (c) => { const endpoint = c.account.addStreamingEndpoint('main'); const program = c.account.addLiveChannel('news').addProgram('live'); program.publish(endpoint); program.publish(endpoint); }, path: 'test/demo/news/live/Locator-main', field: 'endpoint', received: /endpoint main again \(already published there as test\/demo\/news\/live\/Locator-main\)/, allowed: /distinct `id`/ },
  { name: 'two locators with one explicit id', build: (c) => { const endpoint = c.account.addStreamingEndpoint('main'); const program = c.account.addLiveChannel('news').addProgram('live'); program.publish(endpoint, { locatorId: '0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f' }); program.publish(endpoint, { id: 'backup', locatorId: '0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f' }); }, path: 'test/demo/news/live/backup', field: 'locatorId', received: /"0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f"/, allowed: /locator id not already used \(taken by test\/demo\/news\/live\/Locator-main\)/ },
  { name: 'locator id in upper case', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { locatorId: '0B9C7F7E-1D2A-4C3B-8E4F-5A6B7C8D9E0F' }), path: 'test/demo/news/live/Locator-main', field: 'locatorId', received: /0B9C7F7E/, allowed: /lower-case random/ },
  { name: 'locator id of all zeros', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { locatorId: '00000000-0000-0000-0000-000000000000' }), path: 'test/demo/news/live/Locator-main', field: 'locatorId', received: /00000000-0000/, allowed: /random/ },
  { name: 'locator end an invalid Date', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { end: new Date(NaN) }), path: 'test/demo/news/live/Locator-main', field: 'end', received: /invalid Date/, allowed: /Date/ },
  { name: 'delivery policy given as a string', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), any({ deliveryPolicy: 'default-clear' })), path: 'test/demo/news/live/Locator-main', field: 'deliveryPolicy', received: /"default-clear"/, allowed: /DeliveryPolicy construct/ },

  // Late, whole-app checks
  { name: 'a channel on the port of an endpoint', build: (c) => { c.account.addStreamingEndpoint('main', { port: 8080 }); c.account.addLiveChannel('news', { port: 8080 }); }, path: 'test/demo/news', field: 'port', received: /8080 \(channel ingest\)/, allowed: /test\/demo\/main \(streaming endpoint\) uses 8080/ },
  { name: 'two channels on one SRT port', build: (c) => { c.account.addLiveChannel('news', { protocols: ['srt'], port: 9000 }); c.account.addLiveChannel('sport', { protocols: ['srt'], port: 9001, srt: { port: 9000 } }); }, path: 'test/demo/sport', field: 'srt.port', received: /9000 \(channel SRT ingest\)/, allowed: /on 127\.0\.0\.1 \(UDP\): test\/demo\/news \(channel SRT ingest\) uses 9000/ },
  { name: 'two accounts with one key delivery port', build: (c) => { new MediaAccount(c.stack, 'other'); }, path: 'test/other', field: 'keyDelivery.port', received: /8090 \(key delivery\)/, allowed: /test\/demo \(key delivery\) uses 8090/ },
];

interface AcceptedInput {
  /** What edge it sits on. */
  readonly name: string;
  readonly build: (ctx: Ctx) => void;
}

/** Valid inputs at the edges of what is allowed: each synthesizes, and writes no secret. */
const accepted: AcceptedInput[] = [
  { name: 'a clear stream key of 8 characters', build: (c) => c.account.addLiveChannel('news', { streamKey: CLEAR_STREAM_KEY.slice(0, 8) }) },
  { name: 'a clear stream key of 254 characters', build: (c) => c.account.addLiveChannel('news', { streamKey: `${CLEAR_STREAM_KEY}${'k'.repeat(254 - CLEAR_STREAM_KEY.length)}` }) },
  { name: 'a stream key from a sensitive variable', build: (c) => c.account.addLiveChannel('news', { streamKey: new TerraformVariable(c.stack, 'key', { type: 'string', sensitive: true }).stringValue }) },
  { name: 'a JWT secret from a sensitive variable', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.symmetric(Secret.fromVariable(new TerraformVariable(c.stack, 'jwt', { type: 'string', sensitive: true })))] }) }) },
  { name: 'a public RSA JWK with kid and alg', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [{ ...RSA_PUBLIC_JWK, kid: 'k1', alg: 'RS256', use: 'sig' }] })] }) }) },
  { name: 'a public EC JWK', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.jwks({ keys: [EC_PUBLIC_JWK] })] }) }) },
  { name: 'an Ed25519 public key in PEM', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.publicKeyPem(ED25519_PUBLIC_PEM)] }) }) },
  { name: 'a 2048-bit RSA public key in PEM', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ keys: [VerificationKey.publicKeyPem(RSA_PUBLIC_KEY)] }) }) },
  { name: 'a JWKS URL with a query', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ algorithms: ['RS256'], keys: [VerificationKey.jwksUrl('https://idp.example.com/keys?tenant=news')] }) }) },
  { name: 'required exp present with any value, iss and aud as configured', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requiredClaims: { exp: null, iss: 'https://idp.example.com', aud: 'players', role: 'viewer' } }) }) },
  { name: 'no expiry required, for a provider that issues none', build: (c) => c.account.addKeyPolicy('viewers', { restriction: token({ requireExpiry: false }) }) },
  { name: 'token lifetime of exactly 1 minute and of 365 days', build: (c) => { c.account.addKeyPolicy('short', { restriction: token({ maxLifetime: Duration.minutes(1) }) }); c.account.addKeyPolicy('long', { restriction: token({ maxLifetime: Duration.days(365) }) }); } },
  { name: 'clock skew of 0 and of 5 minutes', build: (c) => { c.account.addKeyPolicy('strict', { restriction: token({ clockSkew: Duration.seconds(0) }) }); c.account.addKeyPolicy('lax', { restriction: token({ clockSkew: Duration.minutes(5) }) }); } },
  { name: 'bind address :: and ::1', build: (c) => { new MediaAccount(c.stack, 'v6', { bindAddress: '::1', keyDelivery: { port: 9090 } }); new MediaAccount(c.stack, 'all', { bindAddress: '::', keyDelivery: { port: 9091 } }); } },
  { name: 'bind address 0.0.0.0', build: (c) => new MediaAccount(c.stack, 'wide', { bindAddress: '0.0.0.0', keyDelivery: { port: 9092 } }) },
  { name: 'a protected locator on every interface, with a host name for key URIs', build: (c) => { const wide = new MediaAccount(c.stack, 'wide', { bindAddress: '0.0.0.0', keyDelivery: { port: 9095 } }); const policy = wide.addDeliveryPolicy('protected', { encryption: DeliveryEncryption.envelope(wide.addKeyPolicy('viewers')) }); wide.addLiveChannel('news', { port: 2936 }).addProgram('live').publish(wide.addStreamingEndpoint('main', { port: 9081, hostNames: ['live.example.com'] }), { deliveryPolicy: policy }); } },
  { name: 'a key URL with a path and a port', build: (c) => new MediaAccount(c.stack, 'keys', { keyDelivery: { port: 9093, publicBaseUrl: 'https://keys.example.com:8443/tenant-a/' } }) },
  { name: 'CORS origins with a port, an IPv6 host and "*"', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['http://127.0.0.1:3000', 'http://[::1]:8000', 'https://player.example.com', '*'] } }) },
  { name: 'allow lists of every address, IPv4 and IPv6', build: (c) => c.account.addLiveChannel('news', { ingestAllowList: ['0.0.0.0/0', '::/0', '2001:db8::/32', '::ffff:10.0.0.1', '192.168.1.7'] }) },
  { name: 'a preview for loopback only (opt-in)', build: (c) => c.account.addLiveChannel('news', { previewAllowList: ['127.0.0.1/32', '::1/128'] }) },
  { name: 'a max cache age of 0 and custom host names', build: (c) => c.account.addStreamingEndpoint('main', { maxCacheAge: Duration.seconds(0), hostNames: ['live.example.com', 'a.b-c.example'] }) },
  { name: 'the shortest key frames and segments', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: '500ms', segmentDuration: '1s' }) },
  { name: 'the longest key frames and segments', build: (c) => c.account.addLiveChannel('news', { keyFrameInterval: '20s', segmentDuration: '60s' }) },
  { name: 'archive windows of exactly 5 minutes and 25 hours', build: (c) => { const ch = c.account.addLiveChannel('news'); ch.addProgram('short', { archiveWindow: '5m' }); ch.addProgram('long', { archiveWindow: 'PT25H' }); } },
  { name: 'a ladder of 8 distinctly named rungs', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: Array.from({ length: 8 }, (_v, i) => ({ width: 640, height: 360 - 2 * i, bitrateKbps: 500 })) })) }) },
  { name: 'rungs of one height with explicit names', build: (c) => c.account.addLiveChannel('news', { encoding: Encoding.standard(EncodingPreset.custom({ ladder: [{ name: 'hd-wide', width: 1280, height: 720, bitrateKbps: 3000 }, { name: 'hd-narrow', width: 960, height: 720, bitrateKbps: 2000 }] })) }) },
  { name: 'a program published to one endpoint twice under two ids', build: (c) => { const endpoint = c.account.addStreamingEndpoint('main'); const program = c.account.addLiveChannel('news').addProgram('live'); program.publish(endpoint); program.publish(endpoint, { id: 'backup' }); } },
  { name: 'an explicit random locator id', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { locatorId: '0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f' }) },
  { name: 'a time-bounded locator with Dates and zones', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { start: new Date('2026-06-01T18:00:00Z'), end: '2026-06-01T22:00:00+02:00' }) },
  { name: 'cenc on DASH and cbcs on HLS and DASH, published', build: (c) => { const viewers = c.account.addKeyPolicy('viewers'); const endpoint = c.account.addStreamingEndpoint('main'); const program = c.account.addLiveChannel('news').addProgram('live'); program.publish(endpoint, { id: 'Locator-dash', deliveryPolicy: c.account.addDeliveryPolicy('cenc', { encryption: DeliveryEncryption.cenc(viewers) }) }); program.publish(endpoint, { id: 'Locator-any', deliveryPolicy: c.account.addDeliveryPolicy('cbcs', { encryption: DeliveryEncryption.cbcs(viewers, { keySystems: ['clearkey'] }) }) }); } },
  { name: 'ports 1 and 65535', build: (c) => { c.account.addStreamingEndpoint('main', { port: 1 }); c.account.addLiveChannel('news', { port: 65535 }); } },
];

describe('bad inputs', () => {
  let outdir: string;
  beforeEach(() => { outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-bad-')); });
  afterEach(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('the tables hold at least 100 cases, bad and accepted', () => {
    expect(cases.length + accepted.length).toBeGreaterThanOrEqual(100);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  test.each(cases.map((c) => [c.name, c] as const))('fails on %s', (_name, bad) => {
    // GIVEN an app with one account
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'test');
    const account = new MediaAccount(stack, 'demo');

    // WHEN the bad input is declared and synthesized (props fail at construction, rules late at synth)
    let error: unknown;
    try {
      bad.build({ app, stack, account });
      app.synth();
    } catch (caught) {
      error = caught;
    }

    // THEN it fails with an issue naming path, field, value and what is allowed
    expect(error).toBeDefined();
    const message = String((error as Error).message);
    const issue = issueIn(error, bad.path, bad.field);
    expect({ issue, message }).toEqual(expect.objectContaining({ issue: expect.anything() }));
    expect(issue!.received).toMatch(bad.received);
    expect(issue!.allowed).toMatch(bad.allowed);
    // AND the message quotes no secret or private key material
    expect(secretsIn(message)).toEqual([]);
    // AND nothing was written
    expect(listFiles(outdir)).toEqual([]);
  });
});

describe('accepted edge cases', () => {
  let outdir: string;
  beforeEach(() => { outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-ok-')); });
  afterEach(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test.each(accepted.map((c) => [c.name, c] as const))('synthesizes %s, with no secret in any written file', (_name, ok) => {
    // GIVEN an app with one account and the input at the edge of what is allowed
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'test');
    const account = new MediaAccount(stack, 'demo');
    ok.build({ app, stack, account });

    // WHEN it is synthesized
    app.synth();

    // THEN cdk.tf.json and the manifest are written, and neither holds secret or private key material
    const files = listFiles(outdir, true);
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['cdk.tf.json', 'livestack.manifest.json']));
    for (const file of files) expect({ file, secrets: secretsIn(fs.readFileSync(file, 'utf8')) }).toEqual({ file, secrets: [] });
  });
});

/**
 * The issue about `path` and `field`: from a LivestackValidationError (props, at construction), or
 * from the lines cdktf's validation error lists (rules, at synth), which are formatted issues.
 */
function issueIn(error: unknown, path: string, field: string): { received: string; allowed: string } | undefined {
  if (error instanceof LivestackValidationError) return error.issues.find((i) => i.path === path && i.field === field);
  const prefix = `${path}: ${field}: received `;
  const line = String((error as Error).message).split('\n').map((l) => l.replace(/^\s*\[[^\]]*\]\s*/, '')).find((l) => l.startsWith(prefix));
  if (!line) return undefined;
  const rest = line.slice(prefix.length);
  const split = rest.indexOf('; allowed: ');
  return { received: rest.slice(0, split), allowed: rest.slice(split + '; allowed: '.length) };
}

function listFiles(dir: string, fullPaths = false): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => (fullPaths ? path.join(e.parentPath, e.name) : e.name));
}

/** Which pieces of secret or private key material `text` contains. */
function secretsIn(text: string): string[] {
  return SECRET_MATERIAL.filter((secret) => text.includes(secret));
}
