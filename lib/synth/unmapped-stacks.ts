/**
 * cdktf records a full stack trace for every token it creates (a Docker container makes about a dozen)
 * and reads it at once. Under ts-node — how `cdktf synth` runs TypeScript apps — source-map-support
 * translates every frame of every such trace, which made livestack's synth 1.6x slower than the same
 * containers written by hand. The traces of resources livestack renders point into livestack itself and
 * help no user, so they are taken untranslated: V8's own formatting, the same information in JS positions.
 */
export function withUnmappedStackTraces<T>(work: () => T): T {
  const errorClass = Error as { prepareStackTrace?: unknown };
  const translate = errorClass.prepareStackTrace;
  errorClass.prepareStackTrace = undefined;
  try {
    return work();
  } finally {
    errorClass.prepareStackTrace = translate;
  }
}
