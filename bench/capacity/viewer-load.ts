/**
 * The viewers of bench/capacity, as a child process (forked by viewers.ts, one per step, config and
 * result over IPC) so its CPU is its own and the bench's bookkeeping does not slow it down.
 *
 * Each viewer is one keep-alive connection that behaves like a player at the live edge: once per
 * target duration, at its own phase (spread uniformly over the first target duration), it asks for the
 * media playlist and the newest segment, pipelined on its connection. The schedule is fixed: a viewer
 * whose previous fetch has not finished by its next turn queues the turn and sends it as soon as it can,
 * and every fetch's latency counts from the time it was due (not from when it could be sent), so a
 * server that falls behind shows as growing latency instead of slowing the viewers down (the
 * "coordinated omission" wrk2 corrects). Fetches due in the first target duration (the ramp-in) are not
 * counted; fetches still unfinished at the end count with the time they had waited so far.
 *
 * Connections come from 127.0.0.2-127.0.0.251, so no per-address limit of a server (or the ephemeral
 * port range of one address) decides the result. Response bodies are counted, not kept: all sockets read
 * into one reused buffer (net `onread`).
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ViewerLoadConfig {
  readonly host: string;
  readonly port: number;
  readonly playlistPath: string;
  readonly viewers: number;
  readonly seconds: number;
  readonly targetDurationMs: number;
}

export interface ViewerLoadResult {
  /** Playlist + segment fetches due in the measured window, and how many completed. */
  readonly due: number;
  readonly completed: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Times the bench's own playlist refresh (which names the newest segment) failed or timed out. */
  readonly trackingFailures: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Body bytes received per second over the step (the schedule is steady from its start). */
  readonly megabitsPerSecond: number;
  /** CPU this process used, in cores, and the p99 delay of its event loop. */
  readonly cores: number;
  readonly loopDelayP99Ms: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const SOURCE_ADDRESSES = 250;

interface Viewer {
  readonly index: number;
  socket?: net.Socket;
  /** Due times of the fetches not sent yet (the first is sent when the connection is free). */
  readonly queue: number[];
  /** Due time of the fetch in flight, if any. */
  inFlight?: number;
  responsesLeft: number;
  head: string;
  bodyLeft: number;
  inBody: boolean;
}

export async function runViewerLoad(config: ViewerLoadConfig): Promise<ViewerLoadResult> {
  const start = performance.now() + 200;
  const windowStart = start + config.targetDurationMs;
  const end = start + config.seconds * 1000;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let due = 0;
  let bytes = 0;
  let newest = await newestSegment(config);
  const fail = (message: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(message);
  };

  // The newest segment, as the origin lists it: one playlist request every half second. A failed
  // refresh is not a viewer's failed request: the viewers go on asking for the last segment known.
  let trackingFailures = 0;
  const tracker = setInterval(() => {
    void newestSegment(config).then((found) => { newest = found; }, () => { trackingFailures++; });
  }, 500);

  const shared = Buffer.allocUnsafe(256 * 1024);
  const viewers: Viewer[] = Array.from({ length: config.viewers }, (_, index) => ({ index, queue: [], responsesLeft: 0, head: '', bodyLeft: 0, inBody: false }));

  const completed = (viewer: Viewer, now: number) => {
    const dueAt = viewer.inFlight!;
    viewer.inFlight = undefined;
    if (dueAt >= windowStart && dueAt < end) latencies.push(now - dueAt);
    sendNext(viewer);
  };

  const onData = (viewer: Viewer, buffer: Buffer, length: number) => {
    let offset = 0;
    while (offset < length) {
      if (!viewer.inBody) {
        const view = buffer.subarray(offset, length);
        let headEnd = viewer.head === '' ? view.indexOf(CRLF2) : -1;
        let head: string;
        let consumed: number;
        if (headEnd >= 0) {
          head = view.toString('latin1', 0, headEnd);
          consumed = headEnd + 4;
        } else {
          const joined = viewer.head + view.toString('latin1');
          headEnd = joined.indexOf('\r\n\r\n');
          if (headEnd < 0) {
            viewer.head = joined;
            if (joined.length > 16_384) return abort(viewer, 'response head over 16 KiB');
            return;
          }
          head = joined.slice(0, headEnd);
          consumed = headEnd + 4 - viewer.head.length;
          viewer.head = '';
        }
        offset += consumed;
        const status = head.slice(9, 12);
        const contentLength = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (status !== '200') return abort(viewer, `answered ${head.split('\r\n')[0]}`);
        if (!contentLength) return abort(viewer, 'answered without Content-Length');
        viewer.bodyLeft = Number(contentLength[1]);
        viewer.inBody = true;
      }
      const take = Math.min(viewer.bodyLeft, length - offset);
      viewer.bodyLeft -= take;
      bytes += take;
      offset += take;
      if (viewer.bodyLeft === 0) {
        viewer.inBody = false;
        viewer.responsesLeft--;
        if (viewer.responsesLeft === 0) completed(viewer, performance.now());
      }
    }
  };

  /** A broken exchange: counted as an error, the connection dropped (the next turn opens a new one). */
  const abort = (viewer: Viewer, why: string) => {
    fail(why);
    viewer.socket?.destroy();
    viewer.socket = undefined;
    viewer.inFlight = undefined;
    viewer.inBody = false;
    viewer.head = '';
    sendNext(viewer);
  };

  const connect = (viewer: Viewer) => {
    const socket = net.connect({
      host: config.host,
      port: config.port,
      localAddress: `127.0.0.${2 + (viewer.index % SOURCE_ADDRESSES)}`,
      noDelay: true,
      onread: { buffer: shared, callback: (length: number, buffer: Uint8Array) => { onData(viewer, buffer as Buffer, length); return true; } },
    });
    socket.on('error', (error) => { if (viewer.socket === socket) abort(viewer, error.message); });
    socket.on('close', () => { if (viewer.socket === socket && viewer.inFlight !== undefined) abort(viewer, 'connection closed mid-response'); });
    viewer.socket = socket;
  };

  const sendNext = (viewer: Viewer) => {
    if (viewer.inFlight !== undefined || viewer.queue.length === 0 || performance.now() > end + config.targetDurationMs * 2) return;
    if (!viewer.socket) connect(viewer);
    viewer.inFlight = viewer.queue.shift()!;
    viewer.responsesLeft = 2;
    const host = `Host: ${config.host}:${config.port}\r\n\r\n`;
    viewer.socket!.write(`GET ${config.playlistPath} HTTP/1.1\r\n${host}GET ${newest} HTTP/1.1\r\n${host}`);
  };

  // One timer per 5 ms slot: each viewer's turns fall at start + phase + k * target duration.
  const phases = viewers.map(() => Math.random() * config.targetDurationMs);
  let turn = 0;
  const turns = Math.ceil((config.seconds * 1000) / config.targetDurationMs);
  const order = phases.map((phase, index) => ({ phase, index })).sort((a, b) => a.phase - b.phase);
  let cursor = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const cpuBefore = process.cpuUsage();
  loopDelay.enable();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (turn < turns) {
        const next = order[cursor];
        const dueAt = start + turn * config.targetDurationMs + next.phase;
        if (dueAt > now || dueAt >= end) break;
        const viewer = viewers[next.index];
        if (dueAt >= windowStart) due++;
        viewer.queue.push(dueAt);
        sendNext(viewer);
        cursor++;
        if (cursor === order.length) {
          cursor = 0;
          turn++;
        }
      }
      if (now >= end) resolve();
      else setTimeout(tick, 5);
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  const cpu = process.cpuUsage(cpuBefore);
  const bytesInStep = bytes;

  // Let the fetches in flight finish (two target durations at most); what is left waited that long.
  const drainUntil = performance.now() + config.targetDurationMs * 2;
  while (viewers.some((v) => v.inFlight !== undefined || v.queue.length > 0) && performance.now() < drainUntil) await sleep(20);
  const now = performance.now();
  for (const viewer of viewers) {
    for (const dueAt of [viewer.inFlight, ...viewer.queue]) {
      if (dueAt !== undefined && dueAt >= windowStart && dueAt < end) latencies.push(now - dueAt);
    }
    viewer.socket?.destroy();
  }
  clearInterval(tracker);
  loopDelay.disable();

  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
  return {
    due,
    completed: sorted.length,
    errors,
    errorSamples,
    trackingFailures,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : 0,
    megabitsPerSecond: (bytesInStep * 8) / ((end - start) / 1000) / 1e6,
    cores: (cpu.user + cpu.system) / 1e6 / ((end - start) / 1000),
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
}

/** Path of the newest segment the origin's media playlist lists. */
async function newestSegment(config: ViewerLoadConfig): Promise<string> {
  const response = await fetch(`http://${config.host}:${config.port}${config.playlistPath}`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`GET ${config.playlistPath} answered ${response.status}`);
  const uri = (await response.text()).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).pop();
  if (!uri) throw new Error(`${config.playlistPath} lists no segment`);
  return path.posix.join(path.posix.dirname(config.playlistPath), uri);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Forked by viewers.ts: one config in, one result out.
if (require.main === module) {
  process.once('message', (config: ViewerLoadConfig) => {
    runViewerLoad(config).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (error: Error) => process.send!({ error: error.stack ?? error.message }, () => process.exit(1)),
    );
  });
}
