/**
 * The smallest useful livestack app: one origin, one 720p ladder channel taking RTMP and SRT, one
 * program, a clear HLS+DASH locator. `npm start` runs it; push with OBS or ffmpeg to a printed ingest URL
 * and play the printed URL.
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { MediaAccount } from '../../constructs';

export class BasicStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const account = new MediaAccount(this, 'demo');
    const endpoint = account.addStreamingEndpoint('main');
    // The preview page is opt-in: here for whoever runs the demo on this machine.
    const channel = account.addLiveChannel('news', { protocols: ['rtmp', 'srt'], previewAllowList: ['127.0.0.1/32', '::1/128'] });
    channel.addProgram('live').publish(endpoint);
  }
}

const app = new App();
new BasicStack(app, 'basic');
app.synth();
