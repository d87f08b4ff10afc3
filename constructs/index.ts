/** livestack's public API: the constructs and the value classes their props take. */
export { MediaAccount, MediaAccountProps } from './media-account';
export { StreamingEndpoint, StreamingEndpointProps } from './streaming-endpoint';
export { LiveChannel, LiveChannelProps } from './live-channel';
export { MAX_RUNNING_PROGRAMS } from '../lib/model/rules';
export { Program, ProgramProps } from './program';
export { KeyPolicy, KeyPolicyProps } from './key-policy';
export { DeliveryPolicy, DeliveryPolicyProps, DeliveryProtocol } from './delivery-policy';
export { Locator, LocatorProps } from './locator';
export { Duration } from '../lib/model/values/duration';
export { Secret } from '../lib/model/values/secret';
export { Encoding, EncodingPreset, LadderRung, SpeedPreset } from '../lib/model/values/encoding';
export { KeyRestriction, TokenRestrictionOptions, VerificationKey } from '../lib/model/values/key-restriction';
export { CommonEncryptionOptions, DeliveryEncryption, KeySystem } from '../lib/model/values/delivery-encryption';
export { RuntimeImage } from '../lib/model/values/runtime-image';
export { Platform } from '../lib/model/values/platform';
export type { KubernetesOptions, ResourceAmounts, ResourceOptions, ServiceOptions, SwarmOptions } from '../lib/model/values/platform';
export { LivestackValidationError, ValidationIssue } from '../lib/model/errors';
