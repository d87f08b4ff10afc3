/**
 * Where a running app is reached: each channel's ingest URLs (RTMP, SRT) and where its stream key is
 * (a 0600 file path, a variable name — never the key itself), and each locator's playback URLs.
 */
import { locatorId, readLocatorIdKey } from '../contract/locator-ids';
import { storagePaths } from '../contract/storage-layout';
import { AccountManifest, LocatorManifest } from '../model/manifest';
import { endpointBaseUrl } from '../model/public-urls';
import { DesiredState } from './desired-state';

/** Stands for a locator id in URLs written where ids must not be (status files). */
export const LOCATOR_ID_PLACEHOLDER = '<locator-id>';

export type StreamKeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'variable'; readonly variable: string }
  | { readonly kind: 'hash' };

export interface IngestAccess {
  readonly account: string;
  readonly channel: string;
  /** `rtmp://HOST:PORT/live`: encoders append `/<stream key>`. */
  readonly rtmpUrl?: string;
  /** `srt://HOST:PORT?streamid=publish:<channel>`: encoders add `&passphrase=<stream key>`. */
  readonly srtUrl?: string;
  readonly streamKey: StreamKeySource;
}

export interface PlaybackAccess {
  readonly account: string;
  readonly locator: string;
  readonly channel: string;
  readonly program: string;
  readonly hls?: string;
  readonly dash?: string;
}

/** A channel's preview page on an endpoint (hls.js, for addresses in the channel's preview allow list). */
export interface PreviewAccess {
  readonly account: string;
  readonly channel: string;
  readonly url: string;
  readonly allowList: readonly string[];
}

export interface Access {
  readonly ingest: IngestAccess[];
  readonly playback: PlaybackAccess[];
  readonly previews: PreviewAccess[];
}

/** `storageDir(account)` is the host folder of an account's storage (the driver's). */
export function describeAccess(desired: DesiredState, storageDir: (account: string) => string): Access {
  const ingest: IngestAccess[] = [];
  const playback: PlaybackAccess[] = [];
  const previews: PreviewAccess[] = [];
  for (const account of desired.manifest.accounts) {
    const specs = desired.specs.filter((s) => s.account === account.name);
    for (const channel of account.channels) {
      const spec = specs.find((s) => s.role === 'ingest' && s.owner === channel.path);
      if (!spec) continue;
      const key = channel.streamKey;
      const streamKey: StreamKeySource = key.kind === 'generated'
        ? { kind: 'file', path: storagePaths.secret(storageDir(account.name), key.id) }
        : key.kind === 'variable' ? { kind: 'variable', variable: `TF_VAR_${key.name}` } : { kind: 'hash' };
      const rtmpUrl = spec.urls.find((url) => url.startsWith('rtmp://'));
      const srtUrl = spec.urls.find((url) => url.startsWith('srt://'));
      ingest.push({ account: account.name, channel: channel.name, ...(rtmpUrl ? { rtmpUrl } : {}), ...(srtUrl ? { srtUrl } : {}), streamKey });
      // Every running endpoint serves the preview; the first one is enough to show.
      const endpoint = account.endpoints.find((e) => e.state === 'running');
      if (endpoint && channel.previewAllowList.length > 0) {
        previews.push({ account: account.name, channel: channel.name, url: `${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/preview/${channel.name}`, allowList: channel.previewAllowList });
      }
    }
    // The workloads generate the key on their first start (in a container, as their own user): read it, never create it here.
    const idKey = readLocatorIdKey(storageDir(account.name));
    for (const locator of account.locators) {
      const served = specs.some((s) => s.owner === account.endpoints.find((e) => e.name === locator.endpoint)?.path);
      const urls = playbackUrlTemplates(account, locator);
      if (!served || !urls) continue;
      const fill = (url: string | undefined) => url && withLocatorId(url, idKey, { account: account.name, name: locator.name, id: locator.id });
      playback.push({
        account: account.name,
        locator: locator.name,
        channel: locator.channel,
        program: locator.program,
        ...(urls.hls ? { hls: fill(urls.hls) } : {}),
        ...(urls.dash ? { dash: fill(urls.dash) } : {}),
      });
    }
  }
  return { ingest, playback, previews };
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

/** `template` with the locator's id, when the account's key exists (or the app set the id). */
export function withLocatorId(template: string, idKey: string | undefined, identity: { account: string; name: string; id?: string }): string {
  if (idKey === undefined && identity.id === undefined) return template;
  return template.replace(LOCATOR_ID_PLACEHOLDER, locatorId(idKey ?? '', identity));
}
