/**
 * The one way into a desired-state manifest from outside the constructs (a file, another process, an
 * app's output): parse, check the schema, then every rule (rules.ts). Callers act only on what passed,
 * so a malformed or inconsistent manifest changes nothing that runs.
 */
import { LivestackValidationError, ValidationIssue } from './errors';
import { Manifest, manifest as manifestSchema } from './manifest';
import { checkManifest } from './rules';
import { zodIssues } from './validate';

/** Schema and rules over a parsed value; `source` names where it came from in messages. */
export function validateManifest(value: unknown, source: string): { readonly manifest?: Manifest; readonly issues: ValidationIssue[] } {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) return { issues: zodIssues(parsed.error, value, source) };
  const issues = checkManifest(parsed.data);
  return issues.length > 0 ? { issues } : { manifest: parsed.data, issues };
}

/**
 * A checked manifest from JSON text (or an already parsed value). Throws a LivestackValidationError
 * naming `source`, the field and what is allowed.
 */
export function loadManifest(input: string | unknown, source: string): Manifest {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new LivestackValidationError([{
        path: source, field: '(file)', received: `text that is not JSON (${(error as Error).message})`,
        allowed: 'a livestack manifest (JSON) written by `livestack synth` or `cdktf synth`',
      }]);
    }
  }
  const { manifest, issues } = validateManifest(value, source);
  if (!manifest) throw new LivestackValidationError(issues);
  return manifest;
}
