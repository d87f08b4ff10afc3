/**
 * Where a running app is reached: each channel's ingest URLs (one per protocol) and how to obtain its
 * stream key (a 0600 file path, a command, a variable name — never the key itself), and each locator's
 * playback URLs with its locator id.
 *
 * Two steps, so every command shows the same thing whatever it starts from:
 * - access records (lib/topology/access-records.ts, pure, from the desired state) name what is reachable
 *   without anything secret or run-time derived: ingest URLs, where a key comes from (a secret id, a
 *   variable), URL templates with `<locator-id>`. Status files keep exactly this (see status.ts), so
 *   `livestack status` can show it without the app.
 * - `resolveAccess` adds what only the deployment knows: the storage folder a generated key sits in and
 *   the locator ids derived from the account's key (contract/locator-ids.ts).
 */
import { locatorId } from '../contract/locator-ids';
import { storagePaths } from '../contract/storage-layout';
import { AccountAccessRecord, IngestUrl, LOCATOR_ID_PLACEHOLDER, PreviewAccess, SrtLinkRecord, accountAccessRecord } from '../topology/access-records';
import { DesiredState } from './desired-state';

export * from '../topology/access-records';

/** How to obtain a stream key: a file (readable by whom), a command, a variable, or nothing livestack keeps. */
export type StreamKeySource =
  /** A generated key: a file in the account's storage (`path` once the storage exists), printed by `command`. */
  | { readonly kind: 'file'; readonly path?: string; readonly command?: string }
  | { readonly kind: 'variable'; readonly variable: string }
  | { readonly kind: 'hash' };

export interface IngestAccess {
  readonly account: string;
  readonly channel: string;
  readonly urls: IngestUrl[];
  readonly streamKey: StreamKeySource;
  readonly srt?: SrtLinkRecord;
}

export interface PlaybackAccess {
  readonly account: string;
  readonly locator: string;
  readonly channel: string;
  readonly program: string;
  /** The locator id, once the account's key exists (or the app set it); absent before. */
  readonly locatorId?: string;
  readonly hls?: string;
  readonly dash?: string;
}

export interface Access {
  readonly ingest: IngestAccess[];
  readonly playback: PlaybackAccess[];
  readonly previews: PreviewAccess[];
}

/** What each account of the desired state makes reachable (pure; nothing secret, no locator id). */
export function accessRecords(desired: DesiredState): AccountAccessRecord[] {
  return desired.manifest.accounts.map((account) => accountAccessRecord(account, desired.specs.filter((s) => s.account === account.name)));
}

/** What a deployment adds to a record: where its storage is, its locator id key, how to run `livestack key show`. */
export interface DeploymentFacts {
  /** Host folder of the account's storage (a generated key is a file in it). */
  readonly storageDir?: string;
  /** The account's locator id key; undefined before any workload generated it. */
  readonly locatorIdKey?: string;
  /** The command that prints a channel's generated key, e.g. `livestack key show news --account demo`. */
  readonly keyCommand?: (channel: string) => string;
}

/** A record with the deployment's facts: key files, commands and locator ids filled in. */
export function resolveAccess(records: readonly AccountAccessRecord[], facts: (account: string) => DeploymentFacts): Access {
  const access: { ingest: IngestAccess[]; playback: PlaybackAccess[]; previews: PreviewAccess[] } = { ingest: [], playback: [], previews: [] };
  for (const record of records) {
    const deployment = facts(record.account);
    for (const channel of record.ingest) {
      const key = channel.streamKey;
      const streamKey: StreamKeySource = key.kind !== 'generated' ? key : {
        kind: 'file',
        ...(deployment.storageDir ? { path: storagePaths.secret(deployment.storageDir, key.secretId) } : {}),
        ...(deployment.keyCommand ? { command: deployment.keyCommand(channel.channel) } : {}),
      };
      access.ingest.push({ account: record.account, channel: channel.channel, urls: channel.urls, streamKey, ...(channel.srt ? { srt: channel.srt } : {}) });
    }
    for (const play of record.playback) {
      const id = play.explicitId ?? (deployment.locatorIdKey !== undefined ? locatorId(deployment.locatorIdKey, { account: record.account, name: play.locator }) : undefined);
      const fill = (url: string | undefined) => (url && id ? url.replace(LOCATOR_ID_PLACEHOLDER, id) : url);
      access.playback.push({
        account: record.account, locator: play.locator, channel: play.channel, program: play.program,
        ...(id ? { locatorId: id } : {}),
        ...(play.hls ? { hls: fill(play.hls) } : {}),
        ...(play.dash ? { dash: fill(play.dash) } : {}),
      });
    }
    access.previews.push(...record.previews);
  }
  return access;
}

