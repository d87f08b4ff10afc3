/**
 * The balancer's nginx and LL-HLS blocking requests: nginx must wait longer than the origin holds a
 * request (three target durations of the longest low-latency segment), or it would cut held requests
 * off and retry them on another replica.
 */
import { LOW_LATENCY } from '../../../lib/model/latency';
import { renderBalancerNginxConfig } from '../../../lib/dataplane/balancer/balancer-nginx-config';

it('waits for an upstream answer longer than the origin ever holds a blocking request', () => {
  const config = renderBalancerNginxConfig({ workDir: '/tmp/w', listenHost: '127.0.0.1', port: 8080, controlPort: 8081, upstreams: [{ address: '127.0.0.1:9000', up: true }], proofToken: 'test-proof-token' });
  const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(config)?.[1]);
  // TARGETDURATION is the longest segment rounded: at most one second over the limit.
  const longestHoldSeconds = 3 * (LOW_LATENCY.maxSegmentDurationSeconds + 1);
  expect(readTimeout).toBeGreaterThan(longestHoldSeconds);
  // Held answers stream through (the origin also sends X-Accel-Buffering: no): no temp files.
  expect(config).toMatch(/proxy_max_temp_file_size 0;/);
  expect(config).toMatch(/worker_connections 4096;/);
});
