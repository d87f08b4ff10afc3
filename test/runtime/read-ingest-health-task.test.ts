import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { register } from '../../lib/cli/commands/read-ingest-health';
import { readIngestHealthCommand } from '../../lib/contract/tasks';
import { ENV } from '../../lib/contract/workload-env';
import { storagePaths } from '../../lib/contract/storage-layout';

/** Runs the task's argv (without `livestack`) in this process; resolves with what it printed. */
async function runTask(argv: string[], storageDir: string): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  let printed = '';
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += chunk.toString();
    return true;
  });
  const previous = process.env[ENV.storageDir];
  process.env[ENV.storageDir] = storageDir;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } finally {
    write.mockRestore();
    if (previous === undefined) delete process.env[ENV.storageDir];
    else process.env[ENV.storageDir] = previous;
  }
  return printed;
}

describe('the ingest health task (how a swarm account\'s status learns an ingest\'s health)', () => {
  let storage: string;
  beforeEach(() => { storage = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-health-task-')); });
  afterEach(() => fs.rmSync(storage, { recursive: true, force: true }));

  test('prints the channel\'s report, written indented by the ingest, as one line (the runtime reads the last line)', async () => {
    const report = { channel: 'studio', publisherConnected: true, updatedAt: '2026-12-01T21:00:00.000Z' };
    const file = storagePaths.channelHealth(storage, 'studio');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    const printed = await runTask(readIngestHealthCommand('studio').slice(1), storage);
    expect(printed.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(printed.trim().split('\n').pop()!)).toEqual(report);
  });

  test('prints null before the ingest wrote a report', async () => {
    expect(await runTask(readIngestHealthCommand('studio').slice(1), storage)).toBe('null\n');
  });
});
