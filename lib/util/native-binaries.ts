import * as path from 'node:path';
import { packageRoot } from './package-root';

/**
 * The SRT listener of ingest workloads (lib/dataplane/ingest/native/srt-listener.c), where
 * scripts/build-native.sh puts it under the package root, on a host as in the runtime image.
 */
export function srtListenerBinary(): string {
  return path.join(packageRoot(), 'build', 'native', 'livestack-srt-listener');
}

/**
 * The command that builds it, with the script's absolute path: a checkout and an installed package
 * (node_modules/livestack ships the C source and the script) alike.
 */
export function srtListenerBuildCommand(): string {
  return `bash ${path.join(packageRoot(), 'scripts', 'build-native.sh')}`;
}
