/**
 * Where to push and where to play, as every command prints it (`up`'s banner, `apply`, `status`):
 * each channel's ingest URLs and how to obtain its stream key (never the key), each locator's playback
 * URLs with its id, the preview pages. One renderer, so the commands cannot drift apart.
 */
import { Access, IngestAccess, LOCATOR_ID_PLACEHOLDER } from '../runtime/access';

const TEST_SOURCE = '-re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -g 60 -c:a aac';

/**
 * What each ingest protocol needs said: the URL as an encoder takes it (where the key goes), what OBS
 * calls its fields, and an ffmpeg command given a shell expression that yields the key. A protocol
 * not listed is shown as its bare URL.
 */
const PROTOCOLS: Record<string, { label: string; shown: (url: string) => string; obs: string; tryPush: (url: string, key: string) => string }> = {
  rtmp: {
    label: 'RTMP ingest URL',
    shown: (url) => url,
    obs: 'OBS: Server = this URL, Stream Key = the key; ffmpeg: URL/KEY',
    tryPush: (url, key) => `ffmpeg ${TEST_SOURCE} -f flv "${url}/${key}"`,
  },
  srt: {
    label: 'SRT URL',
    shown: (url) => `${url}&passphrase=<stream key>`,
    obs: 'OBS: Server, with the key as passphrase; Stream Key empty',
    tryPush: (url, key) => `ffmpeg ${TEST_SOURCE} -f mpegts "${url}&passphrase=${key}"`,
  },
};

/** `RTMP`, `SRT` or `RTMP or SRT`: what the channels take. */
export function ingestProtocols(ingest: readonly IngestAccess[]): string {
  const protocols = [...new Set(ingest.flatMap((i) => i.urls.map((u) => u.protocol)))];
  return protocols.map((p) => p.toUpperCase()).join(' or ');
}

/** The access lines, indented as a section; empty when nothing is reachable. */
export function accessLines(access: Access): string[] {
  const lines: string[] = [];
  if (access.ingest.length > 0) lines.push(`Ingest (${ingestProtocols(access.ingest)}):`);
  for (const ingest of access.ingest) lines.push(...ingestLines(ingest));
  if (access.playback.length > 0) lines.push(...(lines.length > 0 ? [''] : []), 'Playback:');
  for (const play of access.playback) {
    lines.push(`  locator ${play.locator} (account ${play.account}, channel ${play.channel}, program ${play.program})${play.locatorId ? `: id ${play.locatorId}` : ''}`);
    if (play.hls) lines.push(`    HLS: ${play.hls}`);
    if (play.dash) lines.push(`    DASH: ${play.dash}`);
    // Ids come from a key the first workload generates (contract/locator-ids.ts): none yet if nothing started.
    if (!play.locatorId) lines.push(`    (${LOCATOR_ID_PLACEHOLDER} is known once a workload of the account has started: \`livestack status\` shows it then)`);
  }
  if (access.previews.length > 0) lines.push(...(lines.length > 0 ? [''] : []), 'Preview pages (hls.js, in the clear, for the addresses listed):');
  for (const preview of access.previews) lines.push(`  channel ${preview.channel}: ${preview.url} (from ${preview.allowList.join(', ')})`);
  return lines;
}

function ingestLines(ingest: IngestAccess): string[] {
  const lines = [`  channel ${ingest.channel} (account ${ingest.account})`];
  for (const { protocol, url } of ingest.urls) {
    const known = PROTOCOLS[protocol];
    lines.push(known ? `    ${known.label}: ${known.shown(url)} (${known.obs})` : `    ${protocol.toUpperCase()} URL: ${url}`);
    if (protocol === 'srt' && ingest.srt) {
      const { latencyMs, keyLength } = ingest.srt;
      lines.push(`    SRT latency ${latencyMs} ms (an encoder may ask for more), AES-${keyLength * 8}: encoders set pbkeylen=${keyLength} or none`);
    }
  }
  const key = ingest.streamKey;
  if (key.kind === 'file') {
    if (key.path) lines.push(`    stream key file: ${key.path} (0600, readable by its owner only; the key is not printed)`);
    if (key.command) lines.push(`    stream key command: ${key.command}`);
  } else if (key.kind === 'variable') {
    lines.push(`    stream key: the value of ${key.variable} (a sensitive Terraform variable; livestack does not keep it)`);
  } else {
    lines.push('    stream key: the one given in the app (livestack keeps only its hash)');
  }
  // The key is never printed: the commands read it where it is, in the shell that runs them.
  const shell = key.kind === 'file' ? (key.path ? `$(cat ${key.path})` : key.command ? `$(${key.command})` : undefined) : key.kind === 'variable' ? `$${key.variable}` : undefined;
  for (const { protocol, url } of ingest.urls) {
    const known = PROTOCOLS[protocol];
    if (known && shell) lines.push(`    try: ${known.tryPush(url, shell)}`);
  }
  return lines;
}
