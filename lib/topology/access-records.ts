/**
 * What an account makes reachable, as its desired state names it (pure): each running channel's
 * ingest URLs with their protocols and where its stream key comes from (a generated secret's id, a
 * variable's name — never the key), each served locator's playback URLs with `<locator-id>` for its id
 * (ids are derived at run time from a key in the account's storage: contract/locator-ids.ts), and the
 * preview pages. The runtime's status files keep these records; Terraform outputs are made from them;
 * the runtime fills in what only a deployment knows (lib/runtime/access.ts).
 */
import { WorkloadSpec } from '../contract/workload-spec';
import { AccountManifest, LocatorManifest } from '../model/manifest';
import { endpointBaseUrl } from '../model/public-urls';

/** Stands for a locator id in URLs written where ids must not be (status files, Terraform outputs). */
export const LOCATOR_ID_PLACEHOLDER = '<locator-id>';

/** Where a channel's stream key comes from, as status may keep it: never the key. */
export type StreamKeyOrigin =
  | { readonly kind: 'generated'; readonly secretId: string }
  | { readonly kind: 'variable'; readonly variable: string }
  | { readonly kind: 'hash' };

/** One URL an encoder pushes to, with its protocol (the URL's scheme: `rtmp`, later `srt`). */
export interface IngestUrl {
  readonly protocol: string;
  readonly url: string;
}

/** What an SRT encoder must match: the channel's latency (it may ask for more) and AES key length. */
export interface SrtLinkRecord {
  readonly latencyMs: number;
  readonly keyLength: number;
}

/** A channel's ingest as the desired state names it (kept in status files). */
export interface ChannelIngestRecord {
  readonly channel: string;
  readonly urls: IngestUrl[];
  readonly streamKey: StreamKeyOrigin;
  /** On a channel that takes SRT. */
  readonly srt?: SrtLinkRecord;
}

/** A locator's playback URLs with `<locator-id>` for its id (kept in status files). */
export interface LocatorPlaybackRecord {
  readonly locator: string;
  readonly channel: string;
  readonly program: string;
  readonly endpoint: string;
  readonly hls?: string;
  readonly dash?: string;
  /** Set when the app declared the id itself (`locatorId`). Never written to status files. */
  readonly explicitId?: string;
}

export interface AccountAccessRecord {
  readonly account: string;
  readonly ingest: ChannelIngestRecord[];
  readonly playback: LocatorPlaybackRecord[];
  readonly previews: PreviewAccess[];
}

/** A channel's preview page on an endpoint (hls.js, for addresses in the channel's preview allow list). */
export interface PreviewAccess {
  readonly account: string;
  readonly channel: string;
  readonly url: string;
  readonly allowList: readonly string[];
}

/** One account's access record; `specs` are its workload specs (only what runs is reachable). */
export function accountAccessRecord(account: AccountManifest, specs: readonly WorkloadSpec[]): AccountAccessRecord {
  const ingest: ChannelIngestRecord[] = [];
  const previews: PreviewAccess[] = [];
  for (const channel of account.channels) {
    const spec = specs.find((s) => s.role === 'ingest' && s.owner === channel.path);
    if (!spec) continue;
    ingest.push({
      channel: channel.name, urls: spec.urls.map(ingestUrl), streamKey: streamKeyOrigin(channel.streamKey),
      ...(channel.srt ? { srt: { latencyMs: channel.srt.latencyMs, keyLength: channel.srt.keyLength } } : {}),
    });
    // Every running endpoint serves the preview; the first one is enough to show.
    const endpoint = account.endpoints.find((e) => e.state === 'running');
    if (endpoint && channel.previewAllowList.length > 0) {
      previews.push({ account: account.name, channel: channel.name, url: `${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/preview/${channel.name}`, allowList: channel.previewAllowList });
    }
  }
  const playback: LocatorPlaybackRecord[] = [];
  for (const locator of account.locators) {
    const endpointPath = account.endpoints.find((e) => e.name === locator.endpoint)?.path;
    const urls = playbackUrlTemplates(account, locator);
    if (!urls || !specs.some((s) => s.owner === endpointPath)) continue;
    playback.push({
      locator: locator.name, channel: locator.channel, program: locator.program, endpoint: locator.endpoint, ...urls,
      ...(locator.id !== undefined ? { explicitId: locator.id } : {}),
    });
  }
  return { account: account.name, ingest, playback, previews };
}

/**
 * A locator's HLS and DASH URLs with LOCATOR_ID_PLACEHOLDER for its id (the id is derived from a key
 * in the account's storage: see contract/locator-ids.ts); undefined when its references are broken.
 */
export function playbackUrlTemplates(account: AccountManifest, locator: LocatorManifest): { hls?: string; dash?: string } | undefined {
  const endpoint = account.endpoints.find((e) => e.name === locator.endpoint);
  const program = account.channels.find((c) => c.name === locator.channel)?.programs.find((p) => p.name === locator.program);
  const policy = account.deliveryPolicies.find((d) => d.name === locator.deliveryPolicy);
  if (!endpoint || !program || !policy) return undefined;
  const base = `${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/${LOCATOR_ID_PLACEHOLDER}/${program.manifestName}`;
  return {
    ...(policy.protocols.includes('hls') ? { hls: `${base}.m3u8` } : {}),
    ...(policy.protocols.includes('dash') ? { dash: `${base}.mpd` } : {}),
  };
}

/** Where a channel's key comes from, without the key: a generated secret's id, a variable's name, or a hash. */
export function streamKeyOrigin(key: AccountManifest['channels'][number]['streamKey']): StreamKeyOrigin {
  if (key.kind === 'generated') return { kind: 'generated', secretId: key.id };
  if (key.kind === 'variable') return { kind: 'variable', variable: `TF_VAR_${key.name}` };
  return { kind: 'hash' };
}

/** An ingest URL with its protocol, from its scheme (`rtmp://...` is RTMP, `srt://...` SRT). */
export function ingestUrl(url: string): IngestUrl {
  return { protocol: url.slice(0, Math.max(0, url.indexOf('://'))) || 'unknown', url };
}
