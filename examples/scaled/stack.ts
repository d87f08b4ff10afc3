/**
 * A scaled origin: one endpoint with 3 scale units (3 origin replicas behind one address), two channels,
 * programs with different archive windows (a short live DVR and a long catch-up window). The props say
 * where the same stack runs (e.g. on a swarm with shared storage); main.ts runs it with the defaults.
 */
import { TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { Duration, Encoding, EncodingPreset, MediaAccount, MediaAccountProps, Secret } from '../../constructs';

export interface ScaledStackProps {
  /** Account settings beside the key delivery port (platform, storage, runtime image). @default - one Docker host */
  readonly account?: Omit<MediaAccountProps, 'keyDelivery'>;
  /** Scale units of the endpoint. @default 3 */
  readonly scaleUnits?: number;
  /**
   * How the sports channel transcodes (a smaller ladder reserves less CPU on a cluster engine, e.g. on a
   * test rig of small hosts). @default Encoding.standard(EncodingPreset.default1080p())
   */
  readonly sportsEncoding?: Encoding;
  /** Name of a sensitive Terraform variable holding the studio channel's stream key. @default - a generated key */
  readonly studioStreamKeyVariable?: string;
}

export class ScaledStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ScaledStackProps = {}) {
    super(scope, id);
    const account = new MediaAccount(this, 'broadcast', { ...props.account, keyDelivery: { port: 8290 } });
    const endpoint = account.addStreamingEndpoint('main', { port: 8280, scaleUnits: props.scaleUnits ?? 3 });

    const sports = account.addLiveChannel('sports', { port: 3935, encoding: props.sportsEncoding ?? Encoding.standard(EncodingPreset.default1080p()) });
    sports.addProgram('live', { archiveWindow: Duration.minutes(10) }).publish(endpoint);
    sports.addProgram('catchup', { archiveWindow: Duration.hours(25) }).publish(endpoint);

    const studio = account.addLiveChannel('studio', { port: 3936, encoding: Encoding.passthrough(), ...(props.studioStreamKeyVariable ? { streamKey: Secret.fromVariable(new TerraformVariable(this, props.studioStreamKeyVariable, { type: 'string', sensitive: true })) } : {}) });
    studio.addProgram('live', { archiveWindow: Duration.hours(2) }).publish(endpoint);
  }
}
