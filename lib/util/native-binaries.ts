import * as path from 'node:path';
import { packageRoot } from './package-root';

/**
 * The SRT listener of ingest workloads (lib/dataplane/ingest/native/srt-listener.c), where
 * scripts/build-native.sh puts it under the package root, on a host as in the runtime image.
 */
export function srtListenerBinary(): string {
  return path.join(packageRoot(), 'build', 'native', 'livestack-srt-listener');
}
