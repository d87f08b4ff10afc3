/**
 * What constructs need of their scopes, as interfaces and brand checks. A child (a channel, a
 * locator) reaches its account, channel or program through these, never through the parent's class,
 * so parents import their children and no child imports a parent back (no import cycles, and a copy
 * of the library loaded twice still recognises its own constructs).
 */
import { IConstruct } from 'constructs';

const ACCOUNT = Symbol.for('livestack.MediaAccount');
const CHANNEL = Symbol.for('livestack.LiveChannel');
const PROGRAM = Symbol.for('livestack.Program');

/** What children need of their account. */
export interface AccountScope extends IConstruct {
  readonly accountName: string;
  readonly bindAddress: string;
  /** The account's default delivery policy (clear HLS and DASH), created on first use. */
  defaultDeliveryPolicy(): DeliveryPolicyRef;
}

/** What a program needs of its channel. */
export interface ChannelScope extends IConstruct {
  readonly channelName: string;
}

/** What a locator needs of its program. */
export interface ProgramScope extends IConstruct {
  readonly programName: string;
  readonly manifestName: string;
  readonly channel: ChannelScope;
}

/** What a locator needs of a streaming endpoint. */
export interface EndpointRef extends IConstruct {
  readonly endpointName: string;
  /** Base playback URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
}

/** What a locator needs of a delivery policy. */
export interface DeliveryPolicyRef extends IConstruct {
  readonly policyName: string;
}

/** Marks `construct` as a MediaAccount, a LiveChannel or a Program for the checks below. */
export function brand(construct: IConstruct, kind: 'account' | 'channel' | 'program'): void {
  Object.defineProperty(construct, kind === 'account' ? ACCOUNT : kind === 'channel' ? CHANNEL : PROGRAM, { value: true });
}

export function isAccount(x: unknown): x is AccountScope {
  return typeof x === 'object' && x !== null && ACCOUNT in x;
}

export function isChannel(x: unknown): x is ChannelScope {
  return typeof x === 'object' && x !== null && CHANNEL in x;
}

export function isProgram(x: unknown): x is ProgramScope {
  return typeof x === 'object' && x !== null && PROGRAM in x;
}

/** The account a construct belongs to: itself or its nearest MediaAccount ancestor. */
export function accountOf(construct: IConstruct): AccountScope {
  const found = construct.node.scopes.slice().reverse().find(isAccount);
  if (!found) throw new Error(`${construct.node.path}: not inside a MediaAccount (create it with an account, a channel or a program as its scope)`);
  return found;
}

/** The direct children of `scope` that `is` recognises, in creation order. */
export function childrenOf<T>(scope: IConstruct, is: (x: unknown) => x is T): T[] {
  const found: T[] = [];
  for (const child of scope.node.children) if (is(child)) found.push(child);
  return found;
}
