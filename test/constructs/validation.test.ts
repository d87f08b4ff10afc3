import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Fn, TerraformStack, TerraformVariable } from 'cdktf';
import {
  DeliveryEncryption, Duration, Encoding, EncodingPreset, KeyRestriction, LivestackValidationError, MediaAccount,
  Platform, RuntimeImage, Secret, VerificationKey,
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

const RSA_PUBLIC_KEY = require('node:crypto').generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

const cases: BadInput[] = [
  // MediaAccount
  { name: 'account name not a DNS label', build: (c) => new MediaAccount(c.stack, 'acct', { name: 'Demo_1' }), path: 'test/acct', field: 'name', received: /"Demo_1"/, allowed: /DNS label/ },
  { name: 'account name of the wrong type', build: (c) => new MediaAccount(c.stack, 'acct', any({ name: 123 })), path: 'test/acct', field: 'name', received: /123/, allowed: /string/ },
  { name: 'account id not a DNS label and no name', build: (c) => new MediaAccount(c.stack, 'My Account'), path: 'test/My Account', field: 'name', received: /not a DNS label/, allowed: /pass props.name/ },
  { name: 'bind address not an IP address', build: (c) => new MediaAccount(c.stack, 'acct', { bindAddress: 'localhost' }), path: 'test/acct', field: 'bindAddress', received: /"localhost"/, allowed: /IPv4 or IPv6 address/ },
  { name: 'key delivery port out of range', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { port: 70000 } }), path: 'test/acct', field: 'keyDelivery.port', received: /70000/, allowed: /at most 65535/ },
  { name: 'key delivery port of the wrong type', build: (c) => new MediaAccount(c.stack, 'acct', any({ keyDelivery: { port: '8090' } })), path: 'test/acct', field: 'keyDelivery.port', received: /"8090"/, allowed: /number/ },
  { name: 'key delivery allow list with a bad CIDR', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { allowList: ['10.0.0.0/33'] } }), path: 'test/acct', field: 'keyDelivery.allowList.0', received: /10\.0\.0\.0\/33/, allowed: /CIDR/ },
  { name: 'key delivery public URL not a URL', build: (c) => new MediaAccount(c.stack, 'acct', { keyDelivery: { publicBaseUrl: 'keys here' } }), path: 'test/acct', field: 'keyDelivery.publicBaseUrl', received: /"keys here"/, allowed: /absolute URL/ },
  { name: 'max channels zero', build: (c) => new MediaAccount(c.stack, 'acct', { limits: { maxChannels: 0 } }), path: 'test/acct', field: 'limits.maxChannels', received: /^0$/, allowed: /at least 1/ },
  { name: 'runtime image as a string', build: (c) => new MediaAccount(c.stack, 'acct', any({ runtimeImage: 'livestack:latest' })), path: 'test/acct', field: 'runtimeImage', received: /"livestack:latest"/, allowed: /RuntimeImage/ },
  { name: 'misspelt account prop', build: (c) => new MediaAccount(c.stack, 'acct', any({ bindAdress: '0.0.0.0' })), path: 'test/acct', field: 'bindAdress', received: /"0\.0\.0\.0"/, allowed: /no such prop/ },
  { name: 'storage volume name with a slash', build: (c) => new MediaAccount(c.stack, 'acct', { storage: { volumeName: '/var/media' } }), path: 'test/acct', field: 'storage.volumeName', received: /"\/var\/media"/, allowed: /Docker volume name/ },

  // StreamingEndpoint
  { name: 'endpoint port zero', build: (c) => c.account.addStreamingEndpoint('main', { port: 0 }), path: 'test/demo/main', field: 'port', received: /^0$/, allowed: /at least 1/ },
  { name: 'negative scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: -1 }), path: 'test/demo/main', field: 'scaleUnits', received: /-1/, allowed: /at least 0/ },
  { name: 'fractional scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: 1.5 }), path: 'test/demo/main', field: 'scaleUnits', received: /1\.5/, allowed: /int/ },
  { name: 'too many scale units', build: (c) => c.account.addStreamingEndpoint('main', { scaleUnits: 100 }), path: 'test/demo/main', field: 'scaleUnits', received: /100/, allowed: /at most 64/ },
  { name: 'CORS origin without a scheme', build: (c) => c.account.addStreamingEndpoint('main', { cors: { allowedOrigins: ['player.example.com'] } }), path: 'test/demo/main', field: 'cors.allowedOrigins.0', received: /player\.example\.com/, allowed: /https:\/\/player\.example\.com, or "\*"/ },
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
  { name: 'unsupported ingest protocol', build: (c) => c.account.addLiveChannel('news', any({ protocol: 'srt' })), path: 'test/demo/news', field: 'protocol', received: /"srt"/, allowed: /"rtmp"/ },
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
  { name: 'platform given as a string', build: (c) => new MediaAccount(c.stack, 'k8s', any({ platform: 'kubernetes', keyDelivery: { port: 9190 } })), path: 'test/k8s', field: 'platform', received: /"kubernetes"/, allowed: /Platform\.docker\(\) or Platform\.kubernetes/ },
  { name: 'namespace not a DNS label', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ namespace: 'Live_TV' }) }), path: 'test/k8s', field: 'platform.namespace', received: /"Live_TV"/, allowed: /DNS label/ },
  { name: 'storage size not a quantity', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ storage: { size: '100 GB' } }) }), path: 'test/k8s', field: 'platform.storage.size', received: /"100 GB"/, allowed: /"100Gi"/ },
  { name: 'CPU request not a quantity', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ resources: { ingest: { requests: { cpu: '2 cores' } } } }) }), path: 'test/k8s', field: 'platform.resources.ingest.requests.cpu', received: /"2 cores"/, allowed: /"500m"/ },
  { name: 'unknown Service type', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes({ services: { ingest: { type: any('Ingress') } } }) }), path: 'test/k8s', field: 'platform.services.ingest.type', received: /"Ingress"/, allowed: /"ClusterIP", "NodePort", "LoadBalancer"/ },
  { name: 'misspelt Kubernetes option', build: (c) => new MediaAccount(c.stack, 'k8s', { platform: Platform.kubernetes(any({ namespce: 'live' })) }), path: 'test/k8s', field: 'platform.namespce', received: /"live"/, allowed: /no such prop/ },
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
  { name: 'envelope with a key policy of another account', build: (c) => { const other = new MediaAccount(c.stack, 'other', { keyDelivery: { port: 9090 } }); c.account.addDeliveryPolicy('p', { encryption: DeliveryEncryption.envelope(other.addKeyPolicy('k')) }); }, path: 'test/demo/p', field: 'encryption.keyPolicy', received: /test\/other\/k/, allowed: /same account/ },

  // Locator
  { name: 'locator ending before it starts', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { start: '2026-06-02T00:00:00Z', end: '2026-06-01T00:00:00Z' }), path: 'test/demo/news/live/Locator-main', field: 'end', received: /2026-06-01/, allowed: /after start/ },
  { name: 'locator start that is not ISO 8601', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { start: 'tomorrow' }), path: 'test/demo/news/live/Locator-main', field: 'start', received: /"tomorrow"/, allowed: /ISO 8601/ },
  { name: 'locator on an endpoint of another account', build: (c) => { const other = new MediaAccount(c.stack, 'other', { keyDelivery: { port: 9090 } }); c.account.addLiveChannel('news').addProgram('live').publish(other.addStreamingEndpoint('remote', { port: 9080 })); }, path: 'test/demo/news/live/Locator-remote', field: 'endpoint', received: /test\/other\/remote/, allowed: /program's account demo/ },
  { name: 'locator without an endpoint', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(any(undefined)), path: 'test/demo/news/live/Locator-endpoint', field: 'endpoint', received: /nothing/, allowed: /a StreamingEndpoint construct/ },
  { name: 'locator id that is not a UUID', build: (c) => c.account.addLiveChannel('news').addProgram('live').publish(c.account.addStreamingEndpoint('main'), { locatorId: 'abc' }), path: 'test/demo/news/live/Locator-main', field: 'locatorId', received: /"abc"/, allowed: /UUID/ },

  // Late, whole-app checks
  { name: 'a channel on the port of an endpoint', build: (c) => { c.account.addStreamingEndpoint('main', { port: 8080 }); c.account.addLiveChannel('news', { port: 8080 }); }, path: 'test/demo/news', field: 'port', received: /8080 \(channel ingest\)/, allowed: /test\/demo\/main \(streaming endpoint\) uses 8080/ },
  { name: 'two accounts with one key delivery port', build: (c) => { new MediaAccount(c.stack, 'other'); }, path: 'test/other', field: 'keyDelivery.port', received: /8090 \(key delivery\)/, allowed: /test\/demo \(key delivery\) uses 8090/ },
];

describe('bad inputs', () => {
  let outdir: string;
  beforeEach(() => { outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-bad-')); });
  afterEach(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('the table covers at least 40 bad inputs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
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
    const issue = issueIn(error, bad.path, bad.field);
    expect({ issue, message: (error as Error).message }).toEqual(expect.objectContaining({ issue: expect.anything() }));
    expect(issue!.received).toMatch(bad.received);
    expect(issue!.allowed).toMatch(bad.allowed);
    // AND nothing was written
    expect(listFiles(outdir)).toEqual([]);
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

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}
