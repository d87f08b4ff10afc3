/**
 * Splitting a request path into decoded segments, refusing anything that could step outside the
 * folder it names: dot segments (plain or percent-encoded), encoded slashes or backslashes, NUL,
 * empty segments (`//`, an absolute path smuggled inside the URL) and malformed percent-encoding.
 */

export type PathSplit = { readonly ok: true; readonly segments: string[] } | { readonly ok: false; readonly reason: string };

export function splitRequestPath(rawPath: string): PathSplit {
  if (!rawPath.startsWith('/')) return { ok: false, reason: 'the request target must be a path starting with "/"' };
  const raw = rawPath.slice(1).split('/');
  const segments: string[] = [];
  for (const part of raw) {
    let segment = part;
    if (part.includes('%')) {
      try {
        segment = decodeURIComponent(part);
      } catch {
        return { ok: false, reason: 'malformed percent-encoding' };
      }
    }
    if (segment === '') return { ok: false, reason: 'empty path segment (absolute paths are not accepted)' };
    if (segment === '.' || segment === '..') return { ok: false, reason: 'dot segments ("." and "..") are not accepted' };
    if (/[/\\\0]/.test(segment)) return { ok: false, reason: 'encoded slashes, backslashes and NUL are not accepted' };
    segments.push(segment);
  }
  return { ok: true, segments };
}
