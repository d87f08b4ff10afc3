/**
 * ClearKey as a key provider: keys come from the account's content key store (the same files the key
 * service hands out), and the signalling is what ClearKey players read — the common-system pssh with
 * the key ids, the ClearKey ContentProtection with its license URL, and hls.js's EXT-X-KEY attributes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLEARKEY_SYSTEM_ID, ClearKeyProvider, licenseResponse, parseLicenseRequest } from '../../../lib/dataplane/keys/clearkey';
import { readOrCreateContentKey } from '../../../lib/dataplane/keys/content-key-store';
import { KeyProviderError } from '../../../lib/dataplane/keys/key-provider';
import { COMMON_SYSTEM_ID } from '../../../lib/dataplane/mp4/pssh';

let storageDir: string;
const LICENSE_URL = 'https://keys.example.com/clearkey';

beforeEach(() => {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clearkey-'));
});

afterEach(() => fs.rmSync(storageDir, { recursive: true, force: true }));

describe('ClearKeyProvider', () => {
  test('GIVEN a key id WHEN keys are provided THEN the key is the content key store\'s, created once and stable', async () => {
    const provider = new ClearKeyProvider({ storageDir, licenseUrl: LICENSE_URL });
    const keyId = randomBytes(16);

    const first = await provider.provide({ contentId: 'locator-1', keyIds: [keyId], systemIds: [CLEARKEY_SYSTEM_ID] });
    const second = await provider.provide({ contentId: 'locator-1', keyIds: [keyId], systemIds: [CLEARKEY_SYSTEM_ID] });

    expect(first.keys).toHaveLength(1);
    expect(first.keys[0].keyId.equals(keyId)).toBe(true);
    expect(first.keys[0].key.equals(readOrCreateContentKey(storageDir, keyId.toString('hex')))).toBe(true);
    expect(second.keys[0].key.equals(first.keys[0].key)).toBe(true);
  });

  test('GIVEN the ClearKey and common systems WHEN signalling is provided THEN each carries the common pssh with the key ids, and ClearKey its license URL and HLS attributes', async () => {
    const provider = new ClearKeyProvider({ storageDir, licenseUrl: LICENSE_URL });
    const keyId = randomBytes(16);

    const { systems } = await provider.provide({ contentId: 'locator-1', keyIds: [keyId], systemIds: [CLEARKEY_SYSTEM_ID, COMMON_SYSTEM_ID] });

    const pssh = systems[0].pssh as Buffer;
    // pssh v1: size, 'pssh', version 1, flags 0, the common system id, 1 KID, the KID, no data.
    expect(pssh.toString('hex')).toBe(`00000034${Buffer.from('pssh').toString('hex')}01000000${COMMON_SYSTEM_ID.replace(/-/g, '')}00000001${keyId.toString('hex')}00000000`);
    expect(systems[0]).toEqual({
      systemId: CLEARKEY_SYSTEM_ID,
      pssh,
      dash: { schemeIdUri: 'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e', value: 'ClearKey1.0', licenseUrl: LICENSE_URL },
      hls: { method: 'SAMPLE-AES', uri: `data:text/plain;base64,${keyId.toString('base64')}`, keyFormat: 'org.w3.clearkey', keyFormatVersions: '1' },
    });
    expect(systems[1]).toEqual({ systemId: COMMON_SYSTEM_ID, pssh, dash: { schemeIdUri: `urn:uuid:${COMMON_SYSTEM_ID}`, psshBase64: pssh.toString('base64') } });
  });

  test('fails on a DRM system it does not provide, naming the ones it does', async () => {
    const provider = new ClearKeyProvider({ storageDir, licenseUrl: LICENSE_URL });
    const widevine = 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed';

    await expect(provider.provide({ contentId: 'c', keyIds: [randomBytes(16)], systemIds: [widevine] })).rejects.toThrow(
      new KeyProviderError(`clearkey: DRM system ${widevine} is not provided; allowed: ${CLEARKEY_SYSTEM_ID}, ${COMMON_SYSTEM_ID} (ClearKey, common)`),
    );
  });

  test('fails on a key id that is not 16 bytes', async () => {
    const provider = new ClearKeyProvider({ storageDir, licenseUrl: LICENSE_URL });

    await expect(provider.provide({ contentId: 'c', keyIds: [randomBytes(8)], systemIds: [] })).rejects.toThrow('clearkey: key id of 8 bytes asked for (content c); a KID is 16');
  });
});

describe('the license exchange format', () => {
  test('GIVEN a W3C request with padded and unpadded base64url key ids THEN they are read as hex, duplicates dropped', () => {
    const kid = randomBytes(16);
    const request = Buffer.from(JSON.stringify({ kids: [kid.toString('base64url'), `${kid.toString('base64url')}==`], type: 'temporary' }));

    expect(parseLicenseRequest(request)).toEqual({ keyIds: [kid.toString('hex')] });
  });

  test('GIVEN keys THEN the response is a JSON Web Key set of oct keys, base64url without padding, type temporary', () => {
    const kid = randomBytes(16);
    const key = randomBytes(16);

    expect(JSON.parse(licenseResponse(new Map([[kid.toString('hex'), key]])).toString())).toEqual({
      keys: [{ kty: 'oct', kid: kid.toString('base64url'), k: key.toString('base64url') }],
      type: 'temporary',
    });
  });
});
