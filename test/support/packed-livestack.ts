/**
 * livestack as a user gets it: `npm pack` of this checkout (its prepack script compiles dist/ and ships
 * the lockfile the runtime image installs from), the tarball a project installs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './cli';

export const PACKAGE_JSON: { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> } =
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** `npm pack` into `destination`; returns the tarball's path. */
export function packLivestack(destination: string): string {
  execFileSync('npm', ['pack', '--pack-destination', destination, '--loglevel=error'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
  const tarball = path.join(destination, `livestack-${PACKAGE_JSON.version}.tgz`);
  if (!fs.existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  return tarball;
}

/** The paths inside a packed tarball, without npm's `package/` prefix. */
export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort();
}

/** Unpack a tarball into `destination`/package: the folder an install puts in node_modules/livestack. */
export function unpackLivestack(tarball: string, destination: string): string {
  execFileSync('tar', ['-xzf', tarball, '-C', destination]);
  return path.join(destination, 'package');
}
