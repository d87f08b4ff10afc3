/** Where the livestack package is installed: the CLI, the compiled data plane and the image's Dockerfile. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The folder of this package (holding package.json), from the sources or from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  while (path.dirname(dir) !== dir) {
    const manifest = path.join(dir, 'package.json');
    // dist/ holds a copy of package.json (JSON imports); the package root is the one with bin/.
    const isRoot = fs.existsSync(path.join(dir, 'bin', 'livestack')) && fs.existsSync(manifest);
    if (isRoot && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'livestack') return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the livestack package above ${__dirname}`);
}
