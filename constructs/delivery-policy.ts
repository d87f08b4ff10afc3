import { Construct } from 'constructs';
import { LivestackValidationError } from '../lib/model/errors';
import { DeliveryPolicyManifest } from '../lib/model/manifest';
import { deliveryPolicyProps } from '../lib/model/props';
import { validateProps } from '../lib/model/validate';
import { DeliveryEncryption } from '../lib/model/values/delivery-encryption';
import { constructName } from './private/naming';
import { accountOf, AccountScope, DeliveryPolicyRef } from './private/scopes';

export type DeliveryProtocol = 'hls' | 'dash';

/** Props of a DeliveryPolicy. */
export interface DeliveryPolicyProps {
  /** Policy name (DNS label). @default - the construct id */
  readonly name?: string;
  /** Protocols locators under this policy serve; others are refused at the origin. @default - ['hls', 'dash'] when clear, ['hls'] with envelope */
  readonly protocols?: DeliveryProtocol[];
  /** Encryption on the way out. @default DeliveryEncryption.none() */
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
    this.protocols = resolved.protocols ?? (this.encryption.type === 'envelope' ? ['hls'] : ['hls', 'dash']);
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
    return {
      name: this.policyName,
      path: this.node.path,
      protocols: [...this.protocols],
      encryption: this.encryption.keyPolicy ? { type: 'envelope', keyPolicy: this.encryption.keyPolicy.policyName } : { type: 'none' },
    };
  }
}
