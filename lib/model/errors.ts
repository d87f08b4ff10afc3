/**
 * Validation errors as values: each issue names where (construct path), which field, what was received
 * and what is allowed, so a user can fix the input without reading livestack's source.
 */

export interface ValidationIssue {
  /** Construct path (constructs) or JSON path (manifest files), e.g. `basic/demo/news`. */
  readonly path: string;
  /** The prop or manifest field, dotted, e.g. `encoding.ladder.0.width`. */
  readonly field: string;
  /** What was received, rendered for humans; secrets are never rendered. */
  readonly received: string;
  /** What is allowed. */
  readonly allowed: string;
}

export function formatIssue(issue: ValidationIssue): string {
  return `${issue.path}: ${issue.field}: received ${issue.received}; allowed: ${issue.allowed}`;
}

/** Thrown when props or a manifest are invalid; `issues` carries each problem as data. */
export class LivestackValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.length === 1
      ? `Invalid livestack input: ${formatIssue(issues[0])}`
      : `Invalid livestack input (${issues.length} problems):\n  ${issues.map(formatIssue).join('\n  ')}`);
    this.name = 'LivestackValidationError';
  }
}

const SECRET_FIELD = /(streamKey|secret|password|token|key|pem|jwks?|privateKey)$/i;

/** Render a received value for an error message: short, and never a secret. */
export function renderValue(value: unknown, field = ''): string {
  if (SECRET_FIELD.test(field) && typeof value === 'string') return '(a secret value, not shown)';
  if (value === undefined) return 'nothing (undefined)';
  if (typeof value === 'string') {
    // A password in a URL (`https://user:pw@host`) is a secret wherever it was typed.
    const shown = value.replace(/(\/\/[^/:@\s]*:)[^@/\s]*@/g, '$1(not shown)@');
    return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  if (Array.isArray(value)) return `an array of ${value.length}`;
  // Value classes that print themselves (Duration: "2h", "NaN seconds") say more than their class name.
  if (isSelfDescribing(value)) return `${value.constructor.name} ${String(value)}`;
  const name = (value as object).constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  const json = JSON.stringify(value, maskSecrets);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** A value class instance with its own toString (e.g. Duration), not a plain object. */
function isSelfDescribing(value: unknown): value is { constructor: { name: string } } {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as { toString?: unknown } | null;
  return proto !== null && proto !== Object.prototype && Object.prototype.hasOwnProperty.call(proto, 'toString');
}

/** Members that hold key material or secrets in JWKs and config objects: shown as "(not shown)". */
const SECRET_MEMBER = /^(d|p|q|dp|dq|qi|k|oth|secret|password|token|privateKey|streamKey)$/i;

function maskSecrets(key: string, value: unknown): unknown {
  return key !== '' && SECRET_MEMBER.test(key) ? '(not shown)' : value;
}
