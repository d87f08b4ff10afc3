/**
 * The generated nginx.conf, checked by the real nginx (`nginx -t` with Debian's RTMP module), and
 * nginx-rtmp's statistics document as the health monitor reads it.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { renderNginxConfig } from '../../../../lib/dataplane/ingest/nginx-config';
import { nginxBinary } from '../../../../lib/dataplane/common/nginx';
import { streamStat } from '../../../../lib/dataplane/ingest/rtmp-stat';

const run = promisify(execFile);

describe('renderNginxConfig', () => {
  let workDir: string;
  beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-nginx-'));
  });
  afterEach(() => fs.rmSync(workDir, { recursive: true, force: true }));

  it('is accepted by nginx -t, listening on loopback with the PROXY protocol behind the TCP front', async () => {
    const file = path.join(workDir, 'nginx.conf');
    fs.writeFileSync(file, renderNginxConfig({ workDir, port: 19935, controlPort: 19936, playFrom: ['127.0.0.1'] }));

    const { stderr } = await run(nginxBinary(), ['-t', '-p', workDir, '-e', 'stderr', '-c', file], { timeout: 10_000 });

    expect(stderr).toMatch(/syntax is ok/);
    expect(stderr).toMatch(/test is successful/);
  });

  it('keeps the access log off and the error log above the level that prints stream names', () => {
    const config = renderNginxConfig({ workDir, port: 1, controlPort: 2, playFrom: ['127.0.0.1'] });

    expect(config).toMatch(/listen 127\.0\.0\.1:1 proxy_protocol;/);

    expect(config).toMatch(/^rtmp \{\n {2}access_log off;/m);
    expect(config).toMatch(/^error_log stderr warn;$/m);
    expect(config).toMatch(/allow play 127\.0\.0\.1;\n\s+deny play all;/);
  });
});

describe('streamStat', () => {
  // As nginx-rtmp 1.2.2 (Debian bookworm) writes it, trimmed to one publisher.
  const xml = `<?xml version="1.0" encoding="utf-8" ?>
<rtmp><nginx_version>1.22.1</nginx_version><bytes_in>1414825</bytes_in><server><application><name>live</name><live>
<stream><name>channel</name><time>2735</time><bw_in>0</bw_in><bytes_in>225384</bytes_in><bw_out>0</bw_out><bytes_out>0</bytes_out>
<client><id>16</id><address>127.0.0.1</address><publishing/><active/></client>
<meta><video><width>320</width><height>180</height><frame_rate>25</frame_rate><codec>H264</codec></video><audio><codec>AAC</codec></audio></meta>
<nclients>1</nclients><publishing/><active/></stream><nclients>1</nclients></live></application></server></rtmp>`;

  it('reads the stream\'s own byte counter and declared frame rate', () => {
    expect(streamStat(xml, 'live', 'channel')).toEqual({ bytesIn: 225384, declaredFrameRate: 25 });
  });

  it('finds nothing for a stream nobody publishes', () => {
    expect(streamStat(xml, 'live', 'other')).toBeUndefined();
  });
});
