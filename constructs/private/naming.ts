import { createHash } from 'node:crypto';
import { IConstruct } from 'constructs';
import { LivestackValidationError } from '../../lib/model/errors';
import { DNS_LABEL } from '../../lib/model/manifest';

/** A construct's name: the `name` prop, else its id, which must then be a DNS label. */
export function constructName(construct: IConstruct, name: string | undefined): string {
  if (name !== undefined) return name;
  const id = construct.node.id;
  if (!DNS_LABEL.test(id)) {
    throw new LivestackValidationError([{
      path: construct.node.path, field: 'name', received: `nothing (the construct id ${JSON.stringify(id)} is not a DNS label)`,
      allowed: 'a DNS label (1-63 of a-z, 0-9, "-"): pass props.name, or use such an id',
    }]);
  }
  return id;
}

/** A UUID-shaped id derived one way from text (stable across synths). */
export function derivedUuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
