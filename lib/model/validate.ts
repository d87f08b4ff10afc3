import { z } from 'zod';
import { LivestackValidationError, renderValue, ValidationIssue } from './errors';

/**
 * Validate props against a zod schema; throw one error listing every problem, each with the construct
 * path, the field, the received value and what is allowed.
 */
export function validateProps<T>(schema: z.ZodType<T>, props: unknown, constructPath: string): T {
  const result = schema.safeParse(props ?? {});
  if (result.success) return result.data;
  throw new LivestackValidationError(zodIssues(result.error, props, constructPath));
}

export function zodIssues(error: z.ZodError, input: unknown, path: string): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path,
        field: [...issue.path, key].join('.'),
        // Never the value: a misspelt `streamkey` holds a stream key.
        received: `a prop ${JSON.stringify(key)} that does not exist (its value is not shown)`,
        allowed: 'no such prop (check its spelling)',
      }));
    }
    const field = issue.path.length ? issue.path.join('.') : '(props)';
    return [{ path, field, received: renderValue(valueAt(input, issue.path), field), allowed: allowedFrom(issue) }];
  });
}

function allowedFrom(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.startsWith('Invalid input') ? `a value of type ${issue.expected}` : issue.message;
    case 'too_small':
      return bound(issue.origin, issue.minimum, issue.inclusive ?? true, 'at least', 'more than');
    case 'too_big':
      return bound(issue.origin, issue.maximum, issue.inclusive ?? true, 'at most', 'less than');
    case 'invalid_value':
      return oneOf(issue.values);
    case 'invalid_union':
      return allowedByUnion(issue);
    default:
      return issue.message;
  }
}

/**
 * What a union allows, from what each of its branches said (zod's own text is "Invalid input"): its
 * values when every branch is one literal ("one of 16, 24, 32"), a discriminated union's tags when none
 * matched, else each branch's terms joined by "or".
 * A union given its own message keeps it.
 */
function allowedByUnion(issue: z.core.$ZodIssueInvalidUnion): string {
  // A discriminated union whose tag matched no branch lists its tags.
  const options = (issue as { options?: unknown }).options;
  if (issue.errors.length === 0 && Array.isArray(options)) return oneOf(options);
  if (!issue.message.startsWith('Invalid input') || issue.errors.length === 0) return issue.message;
  const single = issue.errors.map((branch) => (branch.length === 1 && branch[0].path.length === 0 ? branch[0] : undefined));
  if (single.every((i) => i?.code === 'invalid_value')) {
    return oneOf(single.flatMap((i) => (i as z.core.$ZodIssueInvalidValue).values));
  }
  const terms = single.map((i) => (i ? allowedFrom(i) : 'an object of another shape'));
  return [...new Set(terms)].join(', or ');
}

function oneOf(values: readonly unknown[]): string {
  return `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

function bound(origin: string, limit: number | bigint, inclusive: boolean, inclusiveWord: string, exclusiveWord: string): string {
  const word = inclusive ? inclusiveWord : exclusiveWord;
  if (origin === 'string') return `${word} ${limit} characters`;
  if (origin === 'array' || origin === 'set') return `${word} ${limit} items`;
  return `${word} ${limit}`;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
