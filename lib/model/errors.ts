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

const SECRET_FIELD = /(streamKey|secret|password|token)$/i;

/** Render a received value for an error message: short, and never a secret. */
export function renderValue(value: unknown, field = ''): string {
  if (SECRET_FIELD.test(field) && typeof value === 'string') return '(a secret value, not shown)';
  if (value === undefined) return 'nothing (undefined)';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
