/**
 * Terraform outputs that say where to push and where to play, so a `cdktf deploy` user reads them with
 * `cdktf output` / `terraform output` instead of the code: per running channel its ingest URL (one
 * output per protocol) and how to obtain its stream key; per endpoint that serves locators its playback
 * base URL; per locator its playback URLs.
 *
 * Secrets follow the secret rules: a stream key from a sensitive variable is an output marked
 * `sensitive` (Terraform interpolates it; its value never enters cdk.tf.json); a generated key exists
 * only at run time, so its output is the command that prints it. Locator ids are derived at run time
 * from a key the workloads generate in the account's storage (contract/locator-ids.ts): a locator's
 * outputs hold `<locator-id>` and name the command that shows the real URLs; a locator whose id the
 * app set itself gets its full URLs, marked `sensitive` (the id is what keeps the stream private).
 */
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { WorkloadSpec } from '../contract/workload-spec';
import { Manifest } from '../model/manifest';
import { endpointBaseUrl } from '../model/public-urls';
import { LOCATOR_ID_PLACEHOLDER, accountAccessRecord } from '../topology/access-records';
import { logicalId } from './docker-resources';

export interface AccessOutputOptions {
  /**
   * The manifest file beside cdk.tf.json, as the commands the outputs name reach it from the project
   * (cdktf's default output folder: a user with another `output` adapts the path).
   */
  readonly manifestFile: string;
}

/** Outputs of every account of `manifest` whose workloads `specs` hold. */
export function accessOutputs(scope: Construct, manifest: Manifest, specs: readonly WorkloadSpec[], options: AccessOutputOptions): void {
  for (const account of manifest.accounts) {
    const own = specs.filter((s) => s.account === account.name);
    if (own.length === 0) continue;
    const onDocker = account.platform?.kind !== 'kubernetes';
    // The runtime's docker driver finds a Terraform deployment's volume by its labels (lib/runtime/drivers/docker-account.ts).
    const runtime = `--driver docker --manifest ${options.manifestFile}`;
    const record = accountAccessRecord(account, own);
    // `__` after the account: names are DNS labels, whose `-` become `_` here, so one `_` could join two accounts' names.
    const output = (id: string, config: { value: string; description: string; sensitive?: boolean }) => {
      const name = logicalId(`${account.name}__${id}`);
      new TerraformOutput(scope, `output_${name}`, config).overrideLogicalId(name);
    };

    for (const channel of record.ingest) {
      for (const { protocol, url } of channel.urls) {
        output(`${channel.channel}_ingest_${protocol}`, { value: url, description: `${protocol.toUpperCase()} ingest URL of channel ${channel.channel} (account ${account.name}); encoders add the stream key` });
      }
      const key = channel.streamKey;
      if (key.kind === 'variable') {
        output(`${channel.channel}_stream_key`, {
          value: `\${var.${key.variable.replace(/^TF_VAR_/, '')}}`,
          sensitive: true,
          description: `stream key of channel ${channel.channel} (account ${account.name}): the sensitive variable ${key.variable.replace(/^TF_VAR_/, '')}`,
        });
      } else if (key.kind === 'generated') {
        output(`${channel.channel}_stream_key_command`, {
          value: onDocker
            ? `npx livestack key show ${channel.channel} --account ${account.name} ${runtime}`
            : `the file secrets/${key.secretId} on the account's storage claim`,
          description: `how to obtain the stream key of channel ${channel.channel} (account ${account.name}): it is generated at run time, never in Terraform state`,
        });
      }
    }

    for (const endpoint of account.endpoints) {
      if (!record.playback.some((p) => p.endpoint === endpoint.name)) continue;
      output(`${endpoint.name}_playback_base`, {
        value: `${endpointBaseUrl(account.bindAddress, endpoint.port, endpoint.hostNames)}/`,
        description: `playback base URL of streaming endpoint ${endpoint.name} (account ${account.name}): a locator plays at <base><locator-id>/<manifest>.m3u8 (HLS) or .mpd (DASH)`,
      });
    }

    const idsFrom = onDocker
      ? `\`npx livestack status ${runtime}\` prints its URLs with the id`
      : 'the id is derived in the cluster from the key in the storage claim (secrets/locator-id-key)';
    for (const play of record.playback) {
      for (const [protocol, template] of [['hls', play.hls], ['dash', play.dash]] as const) {
        if (!template) continue;
        const id = play.explicitId;
        output(`${play.locator}_${protocol}`, id
          ? { value: template.replace(LOCATOR_ID_PLACEHOLDER, id), sensitive: true, description: `${protocol.toUpperCase()} URL of locator ${play.locator} (account ${account.name}); its id is set in the app` }
          : { value: template, description: `${protocol.toUpperCase()} URL of locator ${play.locator} (account ${account.name}) with ${LOCATOR_ID_PLACEHOLDER} for its id, derived at run time: ${idsFrom}` });
      }
    }
  }
}
