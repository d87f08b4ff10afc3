/**
 * LiveChannel's latency prop: what each mode declares in the manifest, the low-latency defaults, and
 * the rules a low-latency channel must follow, with errors that name path, field, value and what is allowed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Duration, MediaAccount } from '../../constructs';

let outdir: string;
let app: App;

beforeEach(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-latency-'));
  app = new App({ outdir });
});
afterEach(() => fs.rmSync(outdir, { recursive: true, force: true }));

function account(): MediaAccount {
  return new MediaAccount(new TerraformStack(app, 'news'), 'demo');
}

describe('LiveChannel latency', () => {
  it('leaves a standard channel as it was: no latency field, 2-s key frames, 4-s segments', () => {
    const channel = account().addLiveChannel('news').toManifest();
    expect(channel).not.toHaveProperty('latency');
    expect(channel).toMatchObject({ keyFrameIntervalSeconds: 2, segmentDurationSeconds: 4 });
  });

  it('declares a low-latency channel with 1-s key frames and 2-s segments by default', () => {
    const channel = account().addLiveChannel('auction', { latency: 'low' });
    expect(channel.latency).toBe('low');
    expect(channel.toManifest()).toMatchObject({ latency: 'low', keyFrameIntervalSeconds: 1, segmentDurationSeconds: 2 });
  });

  it('fails at synth for a low-latency channel with segments longer than 6 s (rule low-latency-segments), writing nothing', () => {
    account().addLiveChannel('auction', { latency: 'low', keyFrameInterval: Duration.seconds(2), segmentDuration: Duration.seconds(8) });
    expect(() => app.synth()).toThrow(/news\/demo\/auction: segmentDuration: received 8s with latency "low"; allowed: at most 6s for a low-latency channel/);
    expect((fs.readdirSync(outdir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(outdir, f)).isFile())).toEqual([]);
  });

  it('fails for a latency mode that does not exist', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(() => account().addLiveChannel('auction', { latency: 'ultra' as any })).toThrow(/news\/demo\/auction: latency: received "ultra"; allowed: .*standard.*low/);
  });
});
