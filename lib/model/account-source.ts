/**
 * How the stack's synthesis recognises the constructs that contribute an account to the desired state,
 * without importing them (constructs sit above synth): a brand and one method.
 */
import { IConstruct } from 'constructs';
import { AccountManifest } from './manifest';

const ACCOUNT_SOURCE = Symbol.for('livestack.account-source');

/** A construct that renders one account of the desired-state manifest. */
export interface AccountSource extends IConstruct {
  toManifest(): AccountManifest;
}

export function markAccountSource(construct: AccountSource): void {
  Object.defineProperty(construct, ACCOUNT_SOURCE, { value: true });
}

export function isAccountSource(x: unknown): x is AccountSource {
  return typeof x === 'object' && x !== null && ACCOUNT_SOURCE in x;
}
