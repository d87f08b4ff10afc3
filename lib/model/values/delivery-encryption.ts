import { IConstruct } from 'constructs';

/** What DeliveryEncryption needs of a key policy (implemented by the KeyPolicy construct). */
export interface IKeyPolicy extends IConstruct {
  /** The policy's name in its account. */
  readonly policyName: string;
  /** Construct path of the account the policy belongs to. */
  readonly accountPath: string;
}

/** How a delivery policy protects content on the way out. */
export class DeliveryEncryption {
  /** Clear content. */
  static none(): DeliveryEncryption { return new DeliveryEncryption(undefined); }

  /** HLS AES-128 envelope encryption; players fetch the content key under `keyPolicy`. HLS only. */
  static envelope(keyPolicy: IKeyPolicy): DeliveryEncryption { return new DeliveryEncryption(keyPolicy); }

  private constructor(readonly keyPolicy: IKeyPolicy | undefined) {}

  get type(): 'none' | 'envelope' { return this.keyPolicy ? 'envelope' : 'none'; }
}
