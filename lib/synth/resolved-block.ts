/**
 * A resource's block of Terraform JSON that holds no token, handed to cdktf as one value its token
 * resolution does not walk. cdktf resolves a stack node by node, twice (each element's fragment, then
 * the merged configuration), with a few closures per node: for a thousand channels on Kubernetes (a
 * Deployment, Service and ConfigMap each, 2.7 times the JSON of one Docker container) that walk was
 * most of the synth time. A block that contains no token resolves to itself minus its `undefined`
 * values, so livestack makes that copy once and cdktf keeps it as it is:
 *
 * - `resolve()` returns a `Date` untouched (it treats dates as primitives), so the block is a Date;
 * - `deepMerge()` keeps a value with a `resolve()` method whole instead of copying it key by key;
 * - `json-stable-stringify` and `JSON.stringify` write what `toJSON()` returns: the plain block, whose
 *   keys they sort as before, so cdk.tf.json is byte for byte what cdktf's own walk writes (a unit
 *   test holds the two equal);
 * - the block's attributes are its own enumerable properties, so `Testing.synth` and readers of
 *   `stack.toTerraform()` see them.
 *
 * Anything that may hold a token (a token string or number, a non-plain object) keeps cdktf's walk.
 */

/** A string holding a token marker (`${TfToken[`, `#{TfToken[`, `&{TfToken[`) or an encoded token number (they print as -1.8e+289 or so). */
const TOKEN_IN_STRING = /TfToken\[|e\+\d/;

/**
 * Encoded token numbers (cdktf's `createTokenDouble`: sign and exponent bits 0xfdff or 0xfbff) are
 * negative beyond -1e288; no value livestack writes comes near.
 */
const TOKEN_NUMBER_BOUND = -1e288;

class ResolvedBlock extends Date {
  constructor(block: Record<string, unknown>) {
    super(0);
    Object.assign(this, block);
  }

  /** What deepMerge looks for to keep the block whole; resolving it gives the block itself. */
  resolve(): this {
    return this;
  }

  /** The plain block (Date types toJSON as returning a string; JSON writers take any value). */
  override toJSON(): ReturnType<Date['toJSON']> {
    return { ...this } as unknown as ReturnType<Date['toJSON']>;
  }
}

/**
 * The block as cdktf would resolve it, in a form cdktf passes through without walking it again, or
 * undefined when it may hold a token (then cdktf must resolve it).
 */
export function resolvedBlock(block: Record<string, unknown>): Record<string, unknown> | undefined {
  const copy = plainCopy(block);
  return copy === NOT_PLAIN ? undefined : (new ResolvedBlock(copy as Record<string, unknown>) as unknown as Record<string, unknown>);
}

const NOT_PLAIN = Symbol('not plain');

/** A deep copy without `undefined` values (as cdktf's resolve drops them), or NOT_PLAIN. */
function plainCopy(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return TOKEN_IN_STRING.test(value) ? NOT_PLAIN : value;
    case 'number':
      return value < TOKEN_NUMBER_BOUND ? NOT_PLAIN : value;
    case 'boolean':
    case 'undefined':
      return value;
    case 'object':
      break;
    default:
      return NOT_PLAIN;
  }
  if (value === null) return null;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (item === undefined) continue;
      const copy = plainCopy(item);
      if (copy === NOT_PLAIN) return NOT_PLAIN;
      out.push(copy);
    }
    return out;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (TOKEN_IN_STRING.test(key)) return NOT_PLAIN;
    const copy = plainCopy(item);
    if (copy === NOT_PLAIN) return NOT_PLAIN;
    out[key] = copy;
  }
  return out;
}
