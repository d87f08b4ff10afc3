/**
 * The locators an origin replica serves (its live config), indexed by their unguessable id, with
 * their publication window parsed once.
 */
import { contentKeyId } from '../../contract/content-keys';
import { locatorId } from '../../contract/locator-ids';
import { OriginLiveConfig, ServedLocator } from '../../contract/workload-config';
import { PackagingTarget } from './packager';

export interface LocatorEntry {
  readonly locator: ServedLocator;
  readonly target: PackagingTarget;
  readonly startMs?: number;
  readonly endMs?: number;
}

export type WindowVerdict = { readonly open: true } | { readonly open: false; readonly status: 404 | 410; readonly reason: string };

/** The table by locator id; ids the config does not give are derived from the account's `idKey`. */
export function locatorTable(live: OriginLiveConfig, account: string, idKey: string): Map<string, LocatorEntry> {
  const table = new Map<string, LocatorEntry>();
  for (const locator of live.locators) {
    const id = locatorId(idKey, { account, name: locator.name, id: locator.id });
    const { encryption } = locator;
    table.set(id, {
      locator,
      target: {
        assetName: locator.assetName,
        archiveWindowSeconds: locator.archiveWindowSeconds,
        keyId: encryption.type === 'envelope' ? contentKeyId(id) : undefined,
        commonEncryption: encryption.type === 'cenc' || encryption.type === 'cbcs'
          ? { scheme: encryption.type, keyId: contentKeyId(id), keySystems: encryption.keySystems }
          : undefined,
      },
      startMs: locator.start ? Date.parse(locator.start) : undefined,
      endMs: locator.end ? Date.parse(locator.end) : undefined,
    });
  }
  return table;
}

/** Before its start a locator does not exist yet (404); after its end it is gone for good (410). */
export function windowVerdict(entry: LocatorEntry, now: number): WindowVerdict {
  if (entry.startMs !== undefined && now < entry.startMs) {
    return { open: false, status: 404, reason: `this locator is not published yet (from ${entry.locator.start})` };
  }
  if (entry.endMs !== undefined && now >= entry.endMs) {
    return { open: false, status: 410, reason: `this locator was withdrawn at ${entry.locator.end}` };
  }
  return { open: true };
}
