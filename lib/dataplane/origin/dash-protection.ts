/**
 * DASH signalling of common encryption (ISO/IEC 23009-1 5.8.4.1, DASH-IF IOP "Content protection"):
 * per AdaptationSet, the `mp4protection` descriptor naming the scheme (`cenc` or `cbcs`) with the
 * default KID, then one `ContentProtection` per DRM system from the key provider, with its `pssh`
 * and its license URL as `dashif:Laurl` (read by dash.js and Shaka Player). Kept apart from the MPD's
 * timing and layout (dash-render.ts): `protectMpd` adds these elements to a rendered MPD, whose
 * `<MPD` element and one-per-line `<AdaptationSet ...>` elements are the renderer's own format.
 */
import { CencScheme } from './cenc';
import { DrmSystemSignalling } from '../keys/key-provider';
import { TOKEN_SLOT } from './hls-render';

/** Namespaces the protection elements use, for the MPD element. */
export const PROTECTION_NAMESPACES = 'xmlns:cenc="urn:mpeg:cenc:2013" xmlns:dashif="https://dashif.org/CPS"';

/** What an MPD needs to signal a locator's common encryption. */
export interface DashProtection {
  readonly scheme: CencScheme;
  /** 32 hex digits. */
  readonly keyId: string;
  readonly systems: readonly DrmSystemSignalling[];
}

const MPD_OPEN = '<MPD ';
const ADAPTATION_SET = /^(\s*)<AdaptationSet [^\n]*[^/]>$/gm;

/** `mpd` (as dash-render.ts writes it) with the protection namespaces and every AdaptationSet's ContentProtection elements. */
export function protectMpd(mpd: string, protection: DashProtection): string {
  const at = mpd.indexOf(MPD_OPEN);
  if (at < 0) throw new Error('protectMpd: the rendered MPD has no <MPD element');
  const withNamespaces = `${mpd.slice(0, at + MPD_OPEN.length)}${PROTECTION_NAMESPACES} ${mpd.slice(at + MPD_OPEN.length)}`;
  return withNamespaces.replace(ADAPTATION_SET, (line, indent: string) => [line, ...contentProtectionLines(protection, `${indent}  `)].join('\n'));
}

/**
 * The `ContentProtection` elements of an AdaptationSet, indented by `indent`. A license URL is
 * followed by TOKEN_SLOT, where the origin carries a player's `token` query parameter on.
 */
export function contentProtectionLines(protection: DashProtection, indent: string): string[] {
  const out = [`${indent}<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="${protection.scheme}" cenc:default_KID="${uuid(protection.keyId)}"/>`];
  for (const { dash } of protection.systems) {
    const value = dash.value === undefined ? '' : ` value="${xml(dash.value)}"`;
    const children: string[] = [];
    if (dash.licenseUrl) children.push(`${indent}  <dashif:Laurl>${xml(dash.licenseUrl)}${TOKEN_SLOT}</dashif:Laurl>`);
    if (dash.psshBase64) children.push(`${indent}  <cenc:pssh>${dash.psshBase64}</cenc:pssh>`);
    out.push(`${indent}<ContentProtection schemeIdUri="${xml(dash.schemeIdUri)}"${value}>`, ...children, `${indent}</ContentProtection>`);
  }
  return out;
}

/** 32 hex digits as a UUID (8-4-4-4-12), as `cenc:default_KID` is written. */
export function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function xml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
