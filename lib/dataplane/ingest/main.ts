/**
 * Entry point of the ingest workload (`livestack dataplane ingest`), one per running channel:
 *
 *   encoder --RTMP--> nginx-rtmp --(on_publish: key, allow list, one publisher)--> control server
 *                         |                                                           |
 *                         +--(internal stream, token)--> ffmpeg --> channels/<c>/runs/<run>/
 *                                                          ^             |
 *   encoder --SRT--> livestack-srt-listener --(MPEG-TS)----+             |
 *          (stream id, passphrase, allow list, one publisher)            |
 *                                  programs (live config) --hard links--> assets/<asset>/
 *
 * A channel takes RTMP, SRT or both (`protocols`); either way one publisher at a time (the gate).
 *
 * Health goes to `channels/<channel>/health.json` and `/metrics`; retention keeps the channel area
 * and the running programs' windows tidy; program schedules (start, end) are kept by the workload's
 * own timer (program-scheduler.ts). See the modules of this folder for each part.
 *
 * Environment, besides the workload's own (lib/topology `ENV`):
 * - `LIVESTACK_TEST_ONLY_ARCHIVE_WINDOW_SECONDS` — TEST ONLY: caps every program's archive window so
 *   tests can see windows slide in seconds. Never set it in production: it shortens every DVR window.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOW_LATENCY, latencyOf } from '../../model/latency';
import { ChannelManifest, SRT_STREAM_KEY, SRT_STREAM_KEY_RULE, STREAM_KEY, STREAM_KEY_RULE } from '../../model/manifest';
import { ENV } from '../../contract/workload-env';
import { IngestConfig, ingestConfig, ingestLiveConfig } from '../../contract/workload-config';
import { HttpMetrics } from '../common/http-metrics';
import { LiveConfigWatcher } from '../common/live-config-watcher';
import { createLogger, Logger } from '../common/log';
import { stopOnSignals } from '../common/stop-on-signals';
import { parseJsonWith, readWorkloadEnv, WorkloadEnvError } from '../common/workload-env';
import { resolveSecret, verifySecret } from '../secrets';
import { storagePaths } from '../../contract/storage-layout';
import { ChannelRecorder } from './asset-recorder';
import { ControlRequestKind, ControlServer } from './control-server';
import { HealthMonitor } from './ingest-health';
import { ProgramScheduler } from './program-scheduler';
import { renderNginxConfig, RTMP_APPLICATION, RTMP_MODULE_PATH, statSocketPath } from './nginx-config';
import { connectHost, NginxError, NginxProcess } from '../common/nginx';
import { TcpFront } from '../common/tcp-front';
import { INTERNAL_STREAM_NAME, PublishGate } from './publish-gate';
import { applyRetention, collectRetentionView, planRetention } from './retention';
import { rtmpInputBytes } from './rtmp-stat';
import { SrtIngest } from './srt-ingest';
import { renditionPlan } from './transcode-args';
import { Transcoder } from './transcoder';
import { StorageGuard, storageReserveBytes } from './storage-guard';

export const TEST_ONLY_WINDOW_ENV = 'LIVESTACK_TEST_ONLY_ARCHIVE_WINDOW_SECONDS';

const HEALTH_EVERY_MS = 2_000;
/** Bit rate assumed for a rendition whose ladder names none (passthrough): a generous 1080p. */
const UNKNOWN_RENDITION_BPS = 8_000_000;

export async function run(): Promise<void> {
  const env = readWorkloadEnv(ingestConfig);
  const log = createLogger(env.workloadName);
  const { channel } = env.config;
  const programs = env.liveConfigJson ? parseJsonWith(ingestLiveConfig, env.liveConfigJson, ENV.liveConfig).programs : [];
  const windowCap = testOnlyWindowCap(process.env, log);
  const passphrase = usableStreamKey(channel, env.storageDir);
  const takesRtmp = channel.protocols.includes('rtmp');

  const channelDir = storagePaths.channelDir(env.storageDir, channel.name);
  const runsDir = path.join(channelDir, 'runs');
  fs.mkdirSync(runsDir, { recursive: true });
  // nginx's pid, temp folders and stat socket: private, short (unix socket paths are limited to 108 bytes).
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-ingest-'));
  fs.chmodSync(workDir, 0o755);
  const removeWorkDir = () => fs.rmSync(workDir, { recursive: true, force: true });
  process.once('exit', removeWorkDir);

  const bootMs = Date.now();
  const rtmpHost = connectHost(env.listenHost);
  const playToken = randomBytes(24).toString('base64url');
  const renditions = renditionPlan(channel.encoding);
  const gate = new PublishGate({
    ingestAllowList: channel.ingestAllowList,
    verifyKey: (presented) => verifySecret(channel.streamKey, presented, env.storageDir),
    playToken,
    playFrom: [rtmpHost],
  });
  const recorder = new ChannelRecorder({
    storageDir: env.storageDir,
    channel: channel.name,
    segmentDurationSeconds: channel.segmentDurationSeconds,
    renditions,
    log,
    testOnlyWindowCapSeconds: windowCap,
    ...(latencyOf(channel) === 'low' ? { partTargetSeconds: LOW_LATENCY.partTargetSeconds } : {}),
  });
  const scheduler = new ProgramScheduler((effective) => recorder.setPrograms(effective), log);
  scheduler.set(programs);
  recorder.stopOrphans(programs);

  const metrics = new HttpMetrics<ControlRequestKind>('livestack_ingest', { workload: env.workloadName, channel: channel.name });
  const countRefusal = metrics.labeledCounter('publish_refusals_total', 'Publish attempts refused, by reason', ['reason']);
  const countSegment = metrics.labeledCounter('segments_total', 'Segments the transcoder finished, by rendition', ['rendition']);
  let lastSegmentAt: number | undefined;
  const transcoder = new Transcoder({
    runsDir,
    encoding: channel.encoding,
    keyFrameIntervalSeconds: channel.keyFrameIntervalSeconds,
    segmentDurationSeconds: channel.segmentDurationSeconds,
    inputUrl: `rtmp://${urlHost(rtmpHost)}:${channel.port}/${RTMP_APPLICATION}/${INTERNAL_STREAM_NAME}?token=${playToken}`,
    log,
    latency: latencyOf(channel),
    onSegment: (event) => {
      lastSegmentAt = Date.now();
      countSegment(event.rendition);
      recorder.record(event);
    },
    onPart: (event) => recorder.recordPart(event),
  });
  const ladderKbps = renditions.reduce((sum, r) => sum + (r.nominalBitrate ?? UNKNOWN_RENDITION_BPS), 0) / 1000;
  const guard = new StorageGuard(env.storageDir, storageReserveBytes(ladderKbps, channel.segmentDurationSeconds), (paused, state) => {
    if (paused) {
      log.error(`channel ${channel.name}: ${state.message}`);
      void transcoder.hold('the storage is nearly full');
    } else {
      log.info(`channel ${channel.name}: storage has room again (${Math.round(state.freeBytes / 1024 / 1024)} MiB free); recording resumes after a discontinuity`);
      transcoder.release();
    }
  });
  const checkStorage = () => {
    try {
      guard.check();
    } catch (error) {
      log.error(`cannot measure the storage's free space: ${(error as Error).message}`);
    }
  };
  checkStorage();
  const health = new HealthMonitor(env.storageDir, channel.name, {
    publisher: () => gate.publisher,
    transcoderRestarts: () => transcoder.restarts,
    inputFrameRate: () => transcoder.inputFrameRate,
    lastSegmentAtMs: () => lastSegmentAt,
    inputBytes: async () => {
      const protocol = gate.publisher?.protocol;
      if (protocol === 'srt') return srt?.bytesReceived;
      return protocol === 'rtmp' ? rtmpInputBytes(statSocketPath(workDir)) : undefined;
    },
    srtLink: () => srt?.link,
    storage: () => guard.state,
  }, log, metrics.registry);
  const refreshHealth = () => {
    checkStorage();
    return health.update().catch((error: Error) => log.error(`could not write health: ${error.message}`));
  };
  const srt = channel.srt && passphrase !== undefined ? new SrtIngest({
    channel: channel.name,
    settings: channel.srt,
    listenHost: env.listenHost,
    allowList: channel.ingestAllowList,
    passphrase,
    gate,
    transcoder,
    log,
    countRefusal,
    publisherChanged: () => void refreshHealth(),
  }) : undefined;

  let nginxUp = false;
  let srtUp = false;
  const control = new ControlServer({
    publish: (call) => {
      const verdict = gate.publish(call);
      if (verdict.accepted) {
        log.info(`accepted publisher ${call.addr} (client ${call.clientid})`);
        srt?.setBusy(true);
        transcoder.publisherArrived('pull');
        void refreshHealth();
      } else {
        countRefusal(verdict.reason);
        log.info(`refused ${verdict.detail}`);
      }
      return verdict;
    },
    publishDone: (call) => {
      const left = gate.publishDone(call.clientid);
      if (!left) return;
      log.info(`publisher ${left.address} (client ${left.clientId}) left after ${Math.round((Date.now() - left.since.getTime()) / 1000)} s`);
      srt?.setBusy(false);
      transcoder.publisherLeft();
      void refreshHealth();
    },
    play: (call) => {
      const verdict = gate.play(call);
      if (!verdict.accepted) log.info(`refused ${verdict.detail}`);
      return verdict;
    },
    health: () => ({ healthy: (!takesRtmp || nginxUp) && (!srt || srtUp), body: health.snapshot() }),
  }, metrics);

  const nginx = new NginxProcess(workDir, log);
  let front: TcpFront | undefined;
  const watcher = new LiveConfigWatcher(env.liveConfigFile ?? storagePaths.controlFile(env.storageDir, env.workloadName), ingestLiveConfig, (next) => {
    scheduler.set(next.programs);
    log.info(`reloaded live config: recording ${recorder.recordingAssets.join(', ') || 'nothing'}`);
  }, log);
  const timers: NodeJS.Timeout[] = [];
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      for (const timer of timers) clearInterval(timer);
      watcher.stop();
      scheduler.stop();
      // Read the transcoder's last segments into the assets before nginx goes.
      await transcoder.stop();
      await front?.close();
      await Promise.all([nginx.stop(), srt?.stop()]);
      nginxUp = false;
      srtUp = false;
      await refreshHealth();
      await control.close();
      removeWorkDir();
    })();
    return stopping;
  };

  try {
    if (takesRtmp && !fs.existsSync(RTMP_MODULE_PATH)) {
      throw new NginxError(`the nginx RTMP module is missing (${RTMP_MODULE_PATH}): install Debian's libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)`);
    }
    await control.listen('127.0.0.1', env.config.controlPort);
    if (takesRtmp) {
      // nginx-rtmp on a private loopback port; the front holds the public one (see common/tcp-front.ts).
      const rtmpPort = await freeLoopbackPort();
      await nginx.start(renderNginxConfig({
        workDir,
        port: rtmpPort,
        controlPort: env.config.controlPort,
        playFrom: [rtmpHost],
      }), '127.0.0.1', rtmpPort);
      front = new TcpFront({ label: `RTMP ingest of channel ${channel.name}`, upstreamHost: '127.0.0.1', upstreamPort: rtmpPort, log });
      await front.listen(env.listenHost, channel.port);
      nginxUp = true;
    }
    if (srt) {
      await srt.start();
      srtUp = true;
    }
  } catch (error) {
    await shutdown();
    throw error;
  }
  watcher.start(env.liveConfigJson);
  const graceMs = Math.max(10_000, 3_000 * channel.segmentDurationSeconds);
  const sweep = () => {
    try {
      const runs = transcoder.knowledge();
      const view = collectRetentionView({ runsDir, runs, assets: recorder.knowledge(), bootMs, nowMs: Date.now(), graceMs });
      applyRetention(planRetention(view), runsDir, runs);
    } catch (error) {
      log.error(`retention pass failed: ${(error as Error).message}`);
    }
  };
  timers.push(setInterval(() => void refreshHealth(), HEALTH_EVERY_MS), setInterval(sweep, Math.max(1_000, channel.segmentDurationSeconds * 1_000)));
  await refreshHealth();
  const doors = [
    ...(takesRtmp ? [`rtmp://${urlHost(rtmpHost)}:${channel.port}/${RTMP_APPLICATION}`] : []),
    ...(channel.srt ? [`srt://${urlHost(rtmpHost)}:${channel.srt.port} (UDP; AES-${channel.srt.keyLength * 8}, latency ${channel.srt.latencyMs} ms)`] : []),
  ];
  log.info(`ingest of channel ${channel.name} listening on ${doors.join(' and ')} `
    + `(${describeEncoding(env.config)}; recording ${recorder.recordingAssets.join(', ') || 'nothing'})`);

  const frontDoorDied = Promise.race([...(takesRtmp ? [nginx.died()] : []), ...(srt ? [srt.died()] : [])]);
  const died = frontDoorDied.then(async (why) => {
    log.error(`${why}; the ingest workload stops (its supervisor starts it again)`);
    await shutdown();
    throw new Error(`ingest of channel ${channel.name}: ${why}`);
  });
  await Promise.race([stopOnSignals(log, shutdown), died]);
}

/**
 * The stream key, checked at start against what the channel's protocols can carry, so a bad key fails
 * here, naming its variable, rather than refusing every encoder later (a key nginx-rtmp cannot carry, or
 * an SRT passphrase out of SRT's bounds). Returns the clear key when SRT needs it as its passphrase.
 */
function usableStreamKey(channel: Omit<ChannelManifest, 'programs'>, storageDir: string): string | undefined {
  const ref = channel.streamKey;
  const from = ref.kind === 'variable' ? `Terraform variable ${ref.name}` : `secret ${ref.id}`;
  if (ref.kind === 'hash') {
    if (channel.srt) throw new WorkloadEnvError(`the stream key of channel ${channel.name} (${from}) is kept only as a hash: SRT needs the key itself as its passphrase`);
    return undefined;
  }
  const key = resolveSecret(ref, storageDir);
  const [pattern, rule] = channel.srt ? [SRT_STREAM_KEY, SRT_STREAM_KEY_RULE] : [STREAM_KEY, STREAM_KEY_RULE];
  // SRT's rule is the narrower one (10-79 characters of the same set).
  if (!pattern.test(key)) {
    throw new WorkloadEnvError(`the stream key of channel ${channel.name} (${from}) is not usable: it must be ${rule}`);
  }
  return channel.srt ? key : undefined;
}

/** Reads the test-only window cap; anything but a positive number is refused with the variable's name. */
export function testOnlyWindowCap(env: NodeJS.ProcessEnv, log: Logger): number | undefined {
  const raw = env[TEST_ONLY_WINDOW_ENV];
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new WorkloadEnvError(`${TEST_ONLY_WINDOW_ENV}=${JSON.stringify(raw)}: expected a positive number of seconds (a test-only setting)`);
  }
  log.error(`TEST ONLY: ${TEST_ONLY_WINDOW_ENV}=${seconds} caps every program's archive window at ${seconds} s`);
  return seconds;
}

function describeEncoding(config: IngestConfig): string {
  const encoding = config.channel.encoding;
  const names = renditionPlan(encoding).map((r) => r.name).join(', ');
  return encoding.type === 'passthrough' ? `passthrough: ${names}` : `${encoding.preset} ladder (${encoding.speedPreset}): ${names}`;
}

/** A loopback port free now (the OS picks it; nginx binds it moments later). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
