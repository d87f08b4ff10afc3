/**
 * The runtime image's build context holds exactly one lockfile: a checkout's package-lock.json, or, in
 * an installed package (npm never packs a root package-lock.json), the copy the prepack script ships.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildContextFiles } from '../../../lib/runtime/drivers/docker-image';
import { isTerminal } from '../../../lib/runtime/errors';

/** The SRT listener's source and build script: the image's build stage compiles them. */
const NATIVE = ['lib/dataplane/ingest/native/srt-listener.c', 'scripts/build-native.sh'];

function packageFolder(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-context-'));
  for (const file of ['package.json', 'bin/livestack', 'dist/lib/cli/main.js', 'dist/.tsbuildinfo', 'images/Dockerfile', 'node_modules/x/index.js', ...NATIVE, ...files]) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '');
  }
  return root;
}

describe('buildContextFiles', () => {
  const made: string[] = [];
  const folder = (files: string[]) => {
    const root = packageFolder(files);
    made.push(root);
    return root;
  };

  afterAll(() => {
    for (const root of made) fs.rmSync(root, { recursive: true, force: true });
  });

  test('a checkout: the root lockfile, not a packed copy left by npm pack', () => {
    const root = folder(['package-lock.json', 'images/package-lock.packed.json']);

    expect(buildContextFiles(root)).toEqual(['bin/livestack', 'dist/lib/cli/main.js', 'images/Dockerfile', ...NATIVE, 'package-lock.json', 'package.json'].sort());
  });

  test('an installed package: the packed lockfile', () => {
    const root = folder(['images/package-lock.packed.json']);

    expect(buildContextFiles(root)).toEqual(['bin/livestack', 'dist/lib/cli/main.js', 'images/Dockerfile', 'images/package-lock.packed.json', ...NATIVE, 'package.json'].sort());
  });

  test('fails with a terminal error naming the folder when there is no lockfile at all', () => {
    const root = folder([]);

    const error = (() => {
      try {
        return buildContextFiles(root);
      } catch (e) {
        return e;
      }
    })();
    expect(isTerminal(error)).toBe(true);
    expect((error as Error).message).toContain(`${root} has neither package-lock.json nor images/package-lock.packed.json`);
  });
});
