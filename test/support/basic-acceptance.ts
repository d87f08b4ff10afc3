/**
 * The runtime's acceptance on examples/basic, shared by the local and the docker driver suites: what a
 * user does after `livestack apply` — find the generated stream key in the account storage, publish a
 * small test stream (video and audio) to the ingest URL, and play the locator's HLS with ffmpeg.
 */
import { servedLocatorId } from './locator-ids';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { storagePaths } from '../../lib/contract/storage-layout';
import { AccountManifest } from '../../lib/model/manifest';
import { eventually } from '../runtime/support/eventually';

const run = promisify(execFile);

export interface PlayedStream {
  readonly videoFrames: number;
  readonly audioFrames: number;
  /** The master playlist URL with the locator id masked, for logs. */
  readonly masked: string;
}

/**
 * Publishes 40 s of lavfi test source to the account's first channel and, once the locator serves
 * segments, decodes 3 s of video and audio through it. The encoder is stopped before returning.
 */
export async function publishAndPlay(account: AccountManifest, storageDir: string): Promise<PlayedStream> {
  const channel = account.channels[0];
  const locator = account.locators[0];
  const program = channel.programs.find((p) => p.name === locator.program)!;
  const keyFile = storagePaths.secret(storageDir, channel.streamKey.id);
  const key = await eventually('the generated stream key', () => (fs.existsSync(keyFile) ? fs.readFileSync(keyFile, 'utf8').trim() : undefined), 30_000, 200);
  const encoder: ChildProcess = spawn('ffmpeg', [
    '-hide_banner', '-v', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '40', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', `rtmp://127.0.0.1:${channel.port}/live/${key}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let encoderErrors = '';
  encoder.stderr!.on('data', (chunk: Buffer) => { encoderErrors += chunk.toString(); });
  try {
    const id = servedLocatorId(storageDir, account, locator);
    const master = `http://127.0.0.1:${account.endpoints[0].port}/${id}/${program.manifestName}.m3u8`;
    await eventually('the master playlist with segments behind it', async () => {
      const response = await fetch(master, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
      if (!response?.ok) return undefined;
      const media = (await response.text()).split('\n').find((l) => l !== '' && !l.startsWith('#'));
      if (!media) return undefined;
      const playlist = await (await fetch(new URL(media, master), { signal: AbortSignal.timeout(3_000) })).text();
      return playlist.includes('#EXTINF') ? true : undefined;
    }, 90_000, 500).catch((error: Error) => {
      throw new Error(`${error.message}\nencoder: ${encoderErrors}`);
    });
    const played = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', master, '-map', '0:v:0', '-map', '0:a:0', '-t', '3', '-f', 'framecrc', '-'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const frames = played.stdout.split('\n').filter((l) => /^\d+,/.test(l));
    return {
      videoFrames: frames.filter((l) => l.startsWith('0,')).length,
      audioFrames: frames.filter((l) => l.startsWith('1,')).length,
      masked: master.replace(id, '<locator>'),
    };
  } finally {
    encoder.kill('SIGKILL');
  }
}
