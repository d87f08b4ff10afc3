import { checkManifest } from './checks';
import { LivestackValidationError } from './errors';
import { Manifest, manifest as manifestSchema } from './manifest';
import { zodIssues } from './validate';

/**
 * Parse and check a manifest read from a file or another process. Throws a LivestackValidationError
 * naming the source, the field and what is allowed; callers act only on a manifest that passed.
 */
export function parseManifest(text: string, source: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LivestackValidationError([{ path: source, field: '(file)', received: `text that is not JSON (${(error as Error).message})`, allowed: 'a livestack manifest (JSON) written by `livestack synth` or `cdktf synth`' }]);
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) throw new LivestackValidationError(zodIssues(result.error, json, source));
  const issues = checkManifest(result.data);
  if (issues.length) throw new LivestackValidationError(issues);
  return result.data;
}
