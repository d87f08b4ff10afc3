import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * End-to-end suites spawn `bin/livestack`, which runs the compiled dist/, and ingest workloads run the
 * native SRT listener: rebuild both (each a no-op when nothing changed) so those processes never run
 * stale code.
 */
export default function globalSetup(): void {
  // scripts/test.sh built it once before starting two jest lanes that would otherwise both rebuild it.
  if (process.env.LIVESTACK_DIST_READY === '1') return;
  const root = path.join(__dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync('bash', [path.join(root, 'scripts', 'build-native.sh')], { cwd: root, stdio: 'inherit' });
}
