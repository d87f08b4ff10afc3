/**
 * A Kubernetes app through the livestack command, as a reviewer and an operator would use it: no
 * cluster runs on this machine, so changes are planned against the previous synthesis, and the local
 * and docker drivers refuse to run the app (explicitly, touching nothing) instead of faking a cluster.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Manifest } from '../../../lib/model/manifest';
import { expectExit, livestack } from '../../support/cli';

jest.setTimeout(120_000);

describe('livestack with examples/kubernetes', () => {
  let dir: string;
  let previous: string;
  let manifest: Manifest;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-k8s-cli-'));
    previous = path.join(dir, 'base.out');
    expectExit(await livestack(['synth', '--app', 'examples/kubernetes/main.ts', '--out', previous]), 0);
    manifest = JSON.parse(fs.readFileSync(path.join(previous, 'stacks', 'kubernetes', 'livestack.manifest.json'), 'utf8'));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The example's manifest with `change` applied, written where `--manifest` can read it. */
  const changed = (name: string, change: (m: Manifest) => void): string => {
    const copy = JSON.parse(JSON.stringify(manifest)) as Manifest;
    change(copy);
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(copy));
    return file;
  };

  test('plan --against the previous synthesis: no change plans nothing (exit 0)', async () => {
    const result = await livestack(['plan', '--app', 'examples/kubernetes/main.ts', '--against', previous]);
    expectExit(result, 0);
    expect(result.stdout).toContain('No changes. 4 workloads up to date.');
  });

  test('plan --against in Markdown: more scale units update the origin in place, a new ladder replaces the ingest and says it disrupts (exit 2)', async () => {
    const file = changed('scaled-and-new-ladder', (m) => {
      m.accounts[0].endpoints[0].scaleUnits = 4;
      const news = m.accounts[0].channels.find((c) => c.name === 'news')!;
      if (news.encoding.type === 'standard') news.encoding.ladder = news.encoding.ladder.slice(0, 2);
    });
    const result = await livestack(['plan', '--manifest', file, '--against', path.join(previous, 'stacks', 'kubernetes', 'livestack.manifest.json'), '--markdown']);
    expectExit(result, 2);
    expect(result.stdout).toContain('**Plan: 0 to create, 1 to replace, 1 to update in place, 0 to delete, 2 unchanged.**');
    expect(result.stdout).toContain('| update | `ls-studio-origin-main` | origin | replicas 2 -> 4 (in place, no restart) | - |');
    expect(result.stdout).toMatch(/\| replace \| `ls-studio-ingest-news` \| ingest \| changed: config\.channel\.encoding, kubernetes\.resources\.limits, kubernetes\.resources\.requests \| live ingest restarted \|/);
  });

  test('up, apply and plan on the local driver refuse the app by name, and nothing starts', async () => {
    const stateDir = path.join(dir, 'state');
    for (const command of [['up', '--wait', '1'], ['apply', '--wait', '0'], ['plan']]) {
      const result = await livestack([...command, '--app', 'examples/kubernetes/main.ts', '--state-dir', stateDir]);
      expectExit(result, 1);
      expect(result.stderr).toContain('account studio runs on Kubernetes (Platform.kubernetes()): the local driver cannot run it.');
      expect(result.stderr).toContain('livestack plan --against');
    }
    const status = await livestack(['status', '--state-dir', stateDir]);
    expect(status.stdout).not.toContain('ls-studio');
  });

  test('a plan --against cannot be saved for apply', async () => {
    const result = await livestack(['plan', '--app', 'examples/kubernetes/main.ts', '--against', previous, '--out', path.join(dir, 'plan.json')]);
    expectExit(result, 1);
    expect(result.stderr).toContain('options: --out saves a plan for `livestack apply`, which a plan --against cannot be');
    expect(fs.existsSync(path.join(dir, 'plan.json'))).toBe(false);
  });
});
