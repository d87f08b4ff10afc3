/**
 * A protected channel: players need a JWT (issuer, audience, HS256, a required claim) to fetch the
 * AES-128 content key, the stream is envelope-encrypted HLS, and the locator is time-bounded.
 *
 * Secrets: the JWT verification secret is a sensitive Terraform variable (`TF_VAR_jwt_secret` for
 * Terraform and for `livestack up/apply`); the stream key comes from `TF_VAR_stream_key`. Neither
 * appears in cdk.tf.json. `livestack token --app examples/protected/main.ts` mints a test token.
 */
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import {
  DeliveryEncryption, Duration, KeyRestriction, MediaAccount, Secret, VerificationKey,
} from '../../constructs';

export class ProtectedStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const jwtSecret = new TerraformVariable(this, 'jwt_secret', {
      type: 'string', sensitive: true, description: 'HS256 secret that signs viewer tokens (at least 32 characters)',
    });
    const streamKey = new TerraformVariable(this, 'stream_key', {
      type: 'string', sensitive: true, description: 'Stream key the encoder presents',
    });

    const account = new MediaAccount(this, 'premium', { keyDelivery: { port: 8190 } });
    const endpoint = account.addStreamingEndpoint('main', { port: 8180 });
    const viewers = account.addKeyPolicy('viewers', {
      restriction: KeyRestriction.token({
        issuer: 'https://auth.example.com',
        audience: 'livestack-premium',
        algorithms: ['HS256'],
        keys: [VerificationKey.symmetric(Secret.fromVariable(jwtSecret))],
        requiredClaims: { entitlement: 'premium' },
        clockSkew: Duration.seconds(30),
      }),
    });
    const envelope = account.addDeliveryPolicy('envelope-hls', {
      protocols: ['hls'],
      encryption: DeliveryEncryption.envelope(viewers),
    });
    const channel = account.addLiveChannel('match', { port: 2935, streamKey: streamKey.stringValue });
    channel.addProgram('live', { archiveWindow: Duration.minutes(30) }).publish(endpoint, {
      deliveryPolicy: envelope,
      start: '2026-01-01T00:00:00Z',
      end: '2036-01-01T00:00:00Z',
    });
  }
}

const app = new App();
new ProtectedStack(app, 'protected');
app.synth();
