import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { balancerTokenPath } from '../../../lib/contract/forwarding';
import { OriginConfig } from '../../../lib/contract/workload-config';
import { OriginServer } from '../../../lib/dataplane/origin/origin-server';
import { freePort } from '../../../bench/support/manifest-fixtures';
import { rawRequest } from '../../e2e/support/raw-http';

/**
 * An origin replica behind livestack's balancer, on a real socket: its allow list admits only
 * 198.51.100.0/24, and every request comes from 127.0.0.1 claiming X-Forwarded-For 198.51.100.7.
 * Only a request with the balancer's proof is believed.
 */
describe('origin replica behind the balancer', () => {
  let storage: string;
  let server: OriginServer;
  let port: number;
  let proof: string;

  beforeAll(async () => {
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'origin-forwarding-'));
    port = await freePort();
    const config: OriginConfig = {
      kind: 'origin',
      account: 'demo',
      endpoint: {
        name: 'main', path: 'app/demo/main', port: port + 1, corsAllowedOrigins: ['*'], allowList: ['198.51.100.0/24'],
        hostNames: [], trustedProxies: [], maxCacheAgeSeconds: 60, state: 'running',
      },
      replica: 0,
      listenPort: port,
      keyDelivery: { port: 8090, baseUrl: 'http://127.0.0.1:8090' },
    };
    server = new OriginServer({ config, storageDir: storage, workloadName: 'test-origin-0', log: { info: () => undefined, error: () => undefined } });
    server.setLiveConfig({ locators: [], previews: [] });
    await server.listen('127.0.0.1', port);
    proof = fs.readFileSync(balancerTokenPath(storage), 'utf8').trim();
  });

  afterAll(async () => {
    await server.close();
    fs.rmSync(storage, { recursive: true, force: true });
  });

  const ask = (headers: Record<string, string>) => rawRequest(port, '/0b9c7f7e-1d2a-4c3b-8e4f-5a6b7c8d9e0f/manifest.m3u8', { headers });

  test('refuses a forged X-Forwarded-For from anyone who reaches the replica directly', async () => {
    expect((await ask({ 'X-Forwarded-For': '198.51.100.7' })).status).toBe(403);
    expect((await ask({ 'X-Forwarded-For': '198.51.100.7', 'X-Livestack-Balancer': 'a-guess' })).status).toBe(403);
  });

  test('believes X-Forwarded-For with the balancer\'s proof (past the allow list, to the locator lookup)', async () => {
    const answer = await ask({ 'X-Forwarded-For': '198.51.100.7', 'X-Livestack-Balancer': proof });

    expect([answer.status, answer.body.toString()]).toEqual([404, 'no such locator\n']);
  });
});
