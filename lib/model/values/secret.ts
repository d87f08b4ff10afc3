import { createHash, scryptSync } from 'node:crypto';
import { TerraformStack, TerraformVariable, Token } from 'cdktf';
import { resolve } from 'cdktf/lib/_tokens';
import { IConstruct } from 'constructs';
import { SecretRef, STREAM_KEY, STREAM_KEY_RULE } from '../manifest';

/** scrypt cost for stream keys given in clear: ~50 ms per check, paid once per publish attempt. */
const SCRYPT_COST = 16384;

/**
 * What a secret is for: the rules differ (see Secret.problem). A stream key of a channel that takes SRT
 * is also its SRT passphrase, which the listener needs in clear.
 */
export type SecretUse = 'stream-key' | 'srt-stream-key' | 'jwt-key';

type SecretSource =
  | { readonly kind: 'generated' }
  | { readonly kind: 'variable'; readonly variable?: TerraformVariable; readonly token?: string }
  | { readonly kind: 'plain'; readonly value: string };

/**
 * A secret livestack must never write in clear: a stream key or a JWT verification secret.
 *
 * - `Secret.generated()`: created at run time by the workload, stored 0600 in the account storage;
 * - `Secret.fromVariable(v)`: a sensitive TerraformVariable (Terraform: `TF_VAR_x`; the runtime reads it too);
 * - `Secret.plainText('...')`: a value written in code. Only a salted scrypt hash is kept, so this is
 *   accepted only where verifying is enough (stream keys), not where the value itself is needed (JWT keys).
 */
export class Secret {
  static generated(): Secret { return new Secret({ kind: 'generated' }); }

  static fromVariable(variable: TerraformVariable): Secret { return new Secret({ kind: 'variable', variable }); }

  static plainText(value: string): Secret { return new Secret({ kind: 'plain', value }); }

  /** A secret given as a string: a cdktf token (e.g. `variable.stringValue`) or a clear value. */
  static fromString(value: string): Secret {
    return Token.isUnresolved(value) ? new Secret({ kind: 'variable', token: value }) : Secret.plainText(value);
  }

  private constructor(private readonly source: SecretSource) {}

  /** How the secret was given, for validation messages. */
  get kind(): 'generated' | 'variable' | 'plain' { return this.source.kind; }

  /**
   * Why this secret cannot be used in `scope` for `use`, or undefined when it can. A JWT key's clear
   * value is needed by the workload; a stream key's salted hash suffices to verify a publisher.
   */
  problem(scope: IConstruct, use: SecretUse): { received: string; allowed: string } | undefined {
    if (this.source.kind === 'plain' && use === 'jwt-key') {
      return {
        received: 'a plain-text secret',
        allowed: 'Secret.generated() or Secret.fromVariable(sensitiveVariable): a clear value here would be written to cdk.tf.json',
      };
    }
    if (this.source.kind === 'plain' && this.source.value.length === 0) {
      return { received: 'an empty string', allowed: 'a non-empty secret' };
    }
    if (this.source.kind === 'plain' && use === 'srt-stream-key') {
      return {
        received: 'a plain-text stream key (livestack keeps only its hash)',
        allowed: 'Secret.generated() or Secret.fromVariable(sensitiveVariable) on a channel with SRT: the key is the SRT passphrase, which the listener needs in clear',
      };
    }
    if (this.source.kind === 'plain' && use === 'stream-key' && !STREAM_KEY.test(this.source.value)) {
      return { received: `a stream key of ${this.source.value.length} characters (not shown)`, allowed: STREAM_KEY_RULE };
    }
    if (this.source.kind === 'variable') {
      const variable = this.variable(scope);
      if (!variable) {
        return {
          received: `a token that is not a Terraform variable (${resolve(scope, this.source.token)})`,
          allowed: 'a sensitive TerraformVariable (Secret.fromVariable), so the runtime can read it from TF_VAR_<name>',
        };
      }
      if (!variable.sensitive) {
        return {
          received: `TerraformVariable "${variable.friendlyUniqueId}" without sensitive: true`,
          allowed: 'a variable declared with sensitive: true, so Terraform keeps it out of plans and logs',
        };
      }
    }
    return undefined;
  }

  /** The manifest reference. `id` names the secret (file name, env var); call only when problem() is undefined. */
  toRef(scope: IConstruct, id: string): SecretRef {
    switch (this.source.kind) {
      case 'generated':
        return { kind: 'generated', id };
      case 'variable':
        return { kind: 'variable', id, name: this.variable(scope)!.friendlyUniqueId };
      case 'plain': {
        // A salt derived from the secret's id keeps synth deterministic (no plan churn) while making
        // the hash useless against other channels; scrypt makes guessing a weak key expensive.
        const salt = createHash('sha256').update(`livestack stream key salt:${id}`).digest().subarray(0, 16);
        const hash = scryptSync(this.source.value, salt, 32, { N: SCRYPT_COST });
        return { kind: 'hash', id, algorithm: 'scrypt', salt: salt.toString('base64'), hash: hash.toString('base64'), cost: SCRYPT_COST };
      }
    }
  }

  private variable(scope: IConstruct): TerraformVariable | undefined {
    if (this.source.kind !== 'variable') return undefined;
    if (this.source.variable) return this.source.variable;
    const stack = TerraformStack.of(scope);
    const match = /^\$\{var\.([A-Za-z0-9_-]+)\}$/.exec(String(resolve(stack, this.source.token)));
    if (!match) return undefined;
    return stack.node.findAll().find((c): c is TerraformVariable => c instanceof TerraformVariable && c.friendlyUniqueId === match[1]);
  }
}
