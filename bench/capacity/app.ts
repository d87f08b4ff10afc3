/**
 * The capacity bench's app, written with livestack's constructs as a user would (defaults wherever the
 * bench has no reason to choose): one account, N live channels each recording a program, and
 * optionally a streaming endpoint publishing the first program. Ports are given (free ones), so the
 * bench never collides with the examples' fixed ports.
 */
import { randomUUID } from 'node:crypto';
import { App, TerraformStack } from 'cdktf';
import { Encoding, MediaAccount } from '../../constructs';
import { MANIFEST_API_VERSION, Manifest } from '../../lib/model/manifest';

export interface CapacityChannel {
  readonly name: string;
  readonly port: number;
  readonly encoding: Encoding;
}

export interface CapacityAppOptions {
  readonly account: string;
  readonly keyPort: number;
  readonly channels: readonly CapacityChannel[];
  /** The stream key every channel accepts: the same across calls, or a changed app would restart every ingest. */
  readonly streamKey: string;
  /** A streaming endpoint publishing the first channel's program. */
  readonly endpoint?: { readonly port: number; readonly scaleUnits: number };
}

export interface CapacityApp {
  readonly manifest: Manifest;
  /** The asset a channel's program records into. */
  assetOf(channel: string): string;
  /** The first program's locator id, when there is an endpoint. */
  readonly locatorId?: string;
}

export function capacityApp(options: CapacityAppOptions): CapacityApp {
  const stack = new TerraformStack(new App(), 'capacity');
  const account = new MediaAccount(stack, 'account', {
    name: options.account,
    keyDelivery: { port: options.keyPort },
    limits: { maxChannels: Math.max(5, options.channels.length) },
  });
  const endpoint = options.endpoint && account.addStreamingEndpoint('origin', options.endpoint);
  const assets = new Map<string, string>();
  let locatorId: string | undefined;
  options.channels.forEach((spec, index) => {
    const channel = account.addLiveChannel(spec.name, { port: spec.port, encoding: spec.encoding, streamKey: options.streamKey });
    const program = channel.addProgram('live');
    assets.set(spec.name, program.assetName);
    if (endpoint && index === 0) locatorId = program.publish(endpoint, { locatorId: randomUUID() }).locatorId;
  });
  return {
    manifest: { apiVersion: MANIFEST_API_VERSION, accounts: [account.toManifest()] },
    assetOf: (channel) => {
      const asset = assets.get(channel);
      if (!asset) throw new Error(`no channel ${channel} in the capacity app`);
      return asset;
    },
    locatorId,
  };
}
