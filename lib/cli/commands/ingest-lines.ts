/**
 * How `livestack up` and `status` tell encoders where to go: each channel's RTMP and SRT URLs in the
 * forms OBS and ffmpeg take, and where the stream key is (never the key itself).
 */
import { IngestAccess } from '../../runtime/access';

const TEST_SOURCE = '-re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -g 60 -c:a aac';

/** `RTMP`, `SRT` or `RTMP or SRT`: what the channels take. */
export function ingestProtocols(ingest: readonly IngestAccess[]): string {
  const rtmp = ingest.some((i) => i.rtmpUrl);
  const srt = ingest.some((i) => i.srtUrl);
  return rtmp && srt ? 'RTMP or SRT' : srt ? 'SRT' : 'RTMP';
}

/**
 * A channel's URLs and where its key is, and with `tryCommands` an ffmpeg command per protocol. The key
 * is never printed: the commands read it from its file (or variable) in the shell that runs them.
 */
export function ingestLines(ingest: IngestAccess, options: { readonly tryCommands: boolean }): string[] {
  const lines = [`  channel ${ingest.channel} (account ${ingest.account})`];
  const key = ingest.streamKey;
  const keyShell = key.kind === 'file' ? `$(cat ${key.path})` : key.kind === 'variable' ? `$${key.variable}` : undefined;
  if (key.kind === 'file') lines.push(`    stream key file: ${key.path} (readable only by you; the key is not printed)`);
  else if (key.kind === 'variable') lines.push(`    stream key: the value of ${key.variable}`);
  else lines.push('    stream key: the one given in the app (livestack keeps only its hash)');
  if (ingest.rtmpUrl) {
    lines.push(`    ingest URL: ${ingest.rtmpUrl} (OBS: Server; Stream Key: the stream key)`);
    if (keyShell && options.tryCommands) lines.push(`    try: ffmpeg ${TEST_SOURCE} -f flv "${ingest.rtmpUrl}/${keyShell}"`);
  }
  if (ingest.srtUrl) {
    lines.push(`    SRT URL: ${ingest.srtUrl}&passphrase=<stream key> (OBS: Server, with the key as passphrase; Stream Key empty)`);
    if (keyShell && options.tryCommands) lines.push(`    try: ffmpeg ${TEST_SOURCE} -f mpegts "${ingest.srtUrl}&passphrase=${keyShell}"`);
  }
  return lines;
}
