import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveSecret, SecretUnavailableError } from '../../lib/dataplane/secrets';
import { secretEnvName } from '../../lib/contract/workload-env';

const ref = { kind: 'variable' as const, id: 'stream-key-tv-news', name: 'stream_key' };
const ENV_NAME = secretEnvName(ref.id);

describe('variable secrets inside a workload', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-secrets-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('come from the environment (local and docker drivers, Terraform)', () => {
    expect(resolveSecret(ref, dir, { [ENV_NAME]: 'from-env' })).toBe('from-env');
  });

  test('come from the file named by <name>_FILE (a Docker secret on Swarm), without its final newline', () => {
    const file = path.join(dir, 'stream_key');
    fs.writeFileSync(file, 'from-file\n');
    expect(resolveSecret(ref, dir, { [`${ENV_NAME}_FILE`]: file })).toBe('from-file');
  });

  test('fails naming the file, never a value, when the Docker secret is not there', () => {
    const file = path.join(dir, 'missing');
    expect(() => resolveSecret(ref, dir, { [`${ENV_NAME}_FILE`]: file })).toThrow(SecretUnavailableError);
    expect(() => resolveSecret(ref, dir, { [`${ENV_NAME}_FILE`]: file })).toThrow(new RegExp(`cannot read its file ${file} \\(ENOENT\\)`));
  });
});
