import { Construct } from 'constructs';
import { LivestackValidationError } from '../lib/model/errors';
import { DeliveryEncryptionManifest, DeliveryPolicyManifest } from '../lib/model/manifest';
import { deliveryPolicyProps } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { DeliveryEncryption, KEY_SYSTEMS } from '../lib/model/values/delivery-encryption';
import { constructName } from './private/naming';
import { accountOf, AccountScope, DeliveryPolicyRef } from './private/scopes';

export type DeliveryProtocol = 'hls' | 'dash';

/** Props of a DeliveryPolicy. */
export interface DeliveryPolicyProps {
  /** Policy name (DNS label). @default - the construct id */
  readonly name?: string;
  /**
   * Protocols locators under this policy serve; others are refused at the origin.
   * @default - ['hls', 'dash'] when clear or `cbcs`, ['hls'] with envelope, ['dash'] with `cenc`
   */
  readonly protocols?: DeliveryProtocol[];
  /**
   * Encryption on the way out: `none()`, `envelope(keyPolicy)` (HLS AES-128), `cenc(keyPolicy)` (DASH)
   * or `cbcs(keyPolicy)` (DASH and fMP4 HLS SAMPLE-AES), the last two with ClearKey key delivery.
   * @default DeliveryEncryption.none()
   */
  readonly encryption?: DeliveryEncryption;
}

/** Which protocols a locator may serve and how content is encrypted (AMS streaming policy). */
export class DeliveryPolicy extends Construct implements DeliveryPolicyRef {
  readonly policyName: string;
  readonly protocols: readonly DeliveryProtocol[];
  readonly encryption: DeliveryEncryption;

  constructor(account: AccountScope, id: string, props: DeliveryPolicyProps = {}) {
    super(account, id);
    const resolved = validateProps(deliveryPolicyProps, props, this.node.path);
    const owner = accountOf(this);
    this.policyName = constructName(this, resolved.name);
    this.encryption = resolved.encryption ?? DeliveryEncryption.none();
    this.protocols = resolved.protocols ?? DEFAULT_PROTOCOLS[this.encryption.type];
    // Typed apps cannot name another system; plain JavaScript can, and hears what is provided.
    const systems = this.encryption.keySystems;
    const unknown = systems.find((system) => !KEY_SYSTEMS.includes(system));
    if (unknown !== undefined || (this.encryption.keyPolicy && this.encryption.type !== 'envelope' && systems.length === 0)) {
      throw new LivestackValidationError([{
        path: this.node.path, field: 'encryption.keySystems', received: unknown === undefined ? '[]' : JSON.stringify(unknown),
        allowed: `one or more of ${JSON.stringify(KEY_SYSTEMS)} (a commercial DRM needs a KeyProvider of its own: see the README, "Common encryption")`,
      }]);
    }
    // The manifest names key policies within an account: a reference across accounts has no manifest form.
    const keyPolicy = this.encryption.keyPolicy;
    if (keyPolicy && keyPolicy.accountPath !== owner.node.path) {
      throw new LivestackValidationError([{
        path: this.node.path, field: 'encryption.keyPolicy', received: keyPolicy.node.path,
        allowed: `a key policy of the same account (${owner.node.path})`,
      }]);
    }
  }

  toManifest(): DeliveryPolicyManifest {
    return { name: this.policyName, path: this.node.path, protocols: [...this.protocols], encryption: encryptionManifest(this.encryption) };
  }
}

/** What each encryption serves when `protocols` is not given: every protocol that can carry it. */
const DEFAULT_PROTOCOLS: Record<DeliveryEncryption['type'], DeliveryProtocol[]> = {
  none: ['hls', 'dash'],
  envelope: ['hls'],
  cenc: ['dash'],
  cbcs: ['hls', 'dash'],
};

function encryptionManifest(encryption: DeliveryEncryption): DeliveryEncryptionManifest {
  const keyPolicy = encryption.keyPolicy?.policyName;
  switch (encryption.type) {
    case 'none': return { type: 'none' };
    case 'envelope': return { type: 'envelope', keyPolicy: keyPolicy as string };
    default: return { type: encryption.type, keyPolicy: keyPolicy as string, keySystems: [...encryption.keySystems] };
  }
}
