/**
 * One synth measurement, in its own process so each run starts cold in the same way:
 *   app.ts livestack|kubernetes|raw N OUTDIR  ->  prints {"seconds": ...} (declare the app + app.synth())
 * Module loading is done before the clock starts: both kinds load the same cdktf and provider code.
 */
import { performance } from 'node:perf_hooks';
import { App, TerraformStack } from 'cdktf';
import { Container } from '@cdktf/provider-docker/lib/container';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
// Loaded before the clock starts too: the Kubernetes app's resources come from this provider.
import '@cdktf/provider-kubernetes/lib/deployment-v1';
import { MediaAccount, Platform, RuntimeImage } from '../../constructs';

const [kind, countText, outdir] = process.argv.slice(2);
const n = Number(countText);

/** N channels on one Docker host, or the same app on Kubernetes. */
function livestackApp(app: App, kubernetes = false): void {
  const stack = new TerraformStack(app, 'bench');
  const account = new MediaAccount(stack, 'bench', {
    limits: { maxChannels: n },
    ...(kubernetes ? { platform: Platform.kubernetes(), runtimeImage: RuntimeImage.fromName('registry.example.com/livestack/runtime:0.1.0') } : {}),
  });
  const endpoint = account.addStreamingEndpoint('main');
  // Each channel on its own port, as an account with many channels declares them (the raw app does the same).
  for (let i = 0; i < n; i++) account.addLiveChannel(`ch${i}`, { port: 1935 + i }).addProgram('live').publish(endpoint);
}

/** What a careful user would write by hand for the same containers: same attributes, no livestack. */
function rawApp(app: App): void {
  const stack = new TerraformStack(app, 'bench');
  new DockerProvider(stack, 'docker', {});
  for (let i = 0; i < n + 2; i++) {
    new Container(stack, `c${i}`, {
      name: `raw-ingest-${i}`,
      image: 'livestack/runtime:0.1.0',
      command: ['livestack', 'dataplane', 'ingest'],
      env: [`CHANNEL=ch${i}`, `PORT=${1935 + i}`, 'STORAGE=/var/lib/livestack', 'LISTEN=0.0.0.0', `CONFIG={"channel":"ch${i}","port":${1935 + i},"segmentSeconds":4}`],
      ports: [{ internal: 1935 + i, external: 1935 + i, ip: '127.0.0.1', protocol: 'tcp' }],
      volumes: [{ volumeName: 'storage', containerPath: '/var/lib/livestack' }],
      networksAdvanced: [{ name: 'net', aliases: [`raw-ingest-${i}`] }],
      healthcheck: { test: ['CMD', 'livestack', 'probe', `http://127.0.0.1:${40000 + i}/healthz`], interval: '5s', timeout: '3s', retries: 3, startPeriod: '10s' },
      labels: [{ label: 'role', value: 'ingest' }, { label: 'owner', value: `bench/ch${i}` }, { label: 'hash', value: String(i) }],
      restart: 'unless-stopped',
      mustRun: true,
    });
  }
}

const started = performance.now();
const app = new App({ outdir });
if (kind === 'raw') rawApp(app);
else livestackApp(app, kind === 'kubernetes');
app.synth();
process.stdout.write(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
