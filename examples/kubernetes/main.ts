/**
 * The same kind of app on a Kubernetes cluster: two channels (a 720p and a 1080p ladder), a scaled
 * endpoint (2 origin replicas behind one Service, autoscaled up to 8), and a premium locator whose
 * viewers need a JWT for the AES-128 key. Two ways to deploy it:
 *
 * - `cdktf deploy` (this file is a cdktf app: `@cdktf/provider-kubernetes` resources in cdk.tf.json,
 *   the Secret filled from the sensitive variables `stream_key` and `jwt_secret`);
 * - `livestack synth --app examples/kubernetes/main.ts --kubernetes-out deploy/` and commit `deploy/`
 *   for Argo CD or Flux (the Secret `ls-studio-secrets` is created outside the repository).
 *
 * It cannot run on this machine's local or docker drivers: no cluster runs here. Its output is proven
 * by schema validation, equivalence and plans (see the README).
 */
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import {
  DeliveryEncryption, Duration, Encoding, EncodingPreset, KeyRestriction, MediaAccount, Platform, RuntimeImage, Secret, VerificationKey,
} from '../../constructs';

export class KubernetesStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const streamKey = new TerraformVariable(this, 'stream_key', { type: 'string', sensitive: true, description: 'Stream key of the news channel' });
    const jwtSecret = new TerraformVariable(this, 'jwt_secret', {
      type: 'string', sensitive: true, description: 'HS256 secret that signs viewer tokens (at least 32 characters)',
    });

    const account = new MediaAccount(this, 'studio', {
      // A cluster pulls its images: build images/Dockerfile and push it under this name.
      runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0'),
      keyDelivery: { publicBaseUrl: 'https://keys.example.com' },
      platform: Platform.kubernetes({
        namespace: 'live',
        storage: { storageClassName: 'nfs-client', size: '200Gi' },
        services: {
          endpoint: { type: 'LoadBalancer', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
          ingest: { type: 'LoadBalancer' },
          // Behind the cluster's ingress controller at keys.example.com.
          keys: { type: 'ClusterIP' },
        },
        nodeSelector: { 'livestack.example.com/pool': 'media' },
        tolerations: [{ key: 'media', operator: 'Exists', effect: 'NoSchedule' }],
        originAutoscaling: { maxReplicas: 8 },
      }),
    });
    const endpoint = account.addStreamingEndpoint('main', { scaleUnits: 2, hostNames: ['live.example.com'] });
    const viewers = account.addKeyPolicy('viewers', {
      restriction: KeyRestriction.token({
        issuer: 'https://auth.example.com',
        audience: 'livestack-studio',
        algorithms: ['HS256'],
        keys: [VerificationKey.symmetric(Secret.fromVariable(jwtSecret))],
      }),
    });
    const premium = account.addDeliveryPolicy('premium', { protocols: ['hls'], encryption: DeliveryEncryption.envelope(viewers) });

    const news = account.addLiveChannel('news', { streamKey: Secret.fromVariable(streamKey) });
    news.addProgram('live', { archiveWindow: Duration.hours(2) }).publish(endpoint);

    const sports = account.addLiveChannel('sports', { port: 1936, encoding: Encoding.standard(EncodingPreset.default1080p()) });
    sports.addProgram('live', { archiveWindow: Duration.minutes(30) }).publish(endpoint, { deliveryPolicy: premium });
  }
}

const app = new App();
new KubernetesStack(app, 'kubernetes');
app.synth();
