/**
 * A scaled origin: one endpoint with 3 scale units (3 origin replicas behind one address), two channels,
 * programs with different archive windows (a short live DVR and a long catch-up window).
 */
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Duration, Encoding, EncodingPreset, MediaAccount } from '../../constructs';

export class ScaledStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const account = new MediaAccount(this, 'broadcast', { keyDelivery: { port: 8290 } });
    const endpoint = account.addStreamingEndpoint('main', { port: 8280, scaleUnits: 3 });

    const sports = account.addLiveChannel('sports', { port: 3935, encoding: Encoding.standard(EncodingPreset.default1080p()) });
    sports.addProgram('live', { archiveWindow: Duration.minutes(10) }).publish(endpoint);
    sports.addProgram('catchup', { archiveWindow: Duration.hours(25) }).publish(endpoint);

    const studio = account.addLiveChannel('studio', { port: 3936, encoding: Encoding.passthrough() });
    studio.addProgram('live', { archiveWindow: Duration.hours(2) }).publish(endpoint);
  }
}

const app = new App();
new ScaledStack(app, 'scaled');
app.synth();
