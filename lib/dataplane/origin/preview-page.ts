/**
 * The channel preview page: hls.js (served by the origin from the hls.js package, no CDN) playing the
 * channel's current recording in the clear, for operators whose address is in the preview allow list.
 */
import * as fs from 'node:fs';

let hlsScript: Buffer | undefined;

/** hls.min.js from the installed hls.js package, read once. */
export function hlsJs(): Buffer {
  hlsScript ??= fs.readFileSync(require.resolve('hls.js/dist/hls.min.js'));
  return hlsScript;
}

export function previewPage(channel: string): string {
  const title = `livestack preview: ${channel}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
  header { padding: 12px 16px; background: #222; }
  main { padding: 16px; }
  video { width: 100%; max-width: 960px; background: #000; display: block; }
  #status { margin-top: 8px; font-size: 14px; color: #aaa; }
</style>
</head>
<body>
<header><strong>${title}</strong></header>
<main>
  <video id="video" controls muted autoplay playsinline></video>
  <div id="status">loading…</div>
</main>
<script src="/preview/hls.min.js"></script>
<script>
  const video = document.getElementById('video');
  const status = document.getElementById('status');
  const source = '${channel}/master.m3u8';
  const show = (text) => { status.textContent = text; };
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 3 });
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => { show('playing ' + data.levels.length + ' renditions'); video.play().catch(() => {}); });
    hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) show('error: ' + data.details); });
    hls.loadSource(source);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = source;
  } else {
    show('this browser cannot play HLS');
  }
  setInterval(() => { if (!video.paused) show('playing at ' + video.currentTime.toFixed(1) + ' s'); }, 1000);
</script>
</body>
</html>
`;
}
