/**
 * One wrk run (Debian's wrk) over a list of request paths, cycled in order by every connection, with
 * the figures read back as JSON from wrk's Lua `done` hook (requests/s, latency percentiles, errors).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One request of the cycle: a path, and an Authorization header value if it needs one. */
export interface WrkRequest {
  readonly path: string;
  readonly authorization?: string;
}

export interface WrkOptions {
  readonly url: string;
  /** Cycled in order by each wrk thread. */
  readonly requests: readonly WrkRequest[];
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** Folder for the generated Lua script. */
  readonly scratch: string;
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Connect/read/write/timeout errors and non-2xx/3xx answers together. */
  readonly errors: number;
  readonly megabytesPerSecond: number;
}

export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const stamp = `${process.pid}-${Date.now()}`;
  const script = path.join(options.scratch, `wrk-${stamp}.lua`);
  const list = path.join(options.scratch, `wrk-${stamp}.requests`);
  // The requests go in a data file read at start: a Lua table literal of 100,000 entries is too big for LuaJIT.
  fs.writeFileSync(list, options.requests.map((r) => `${r.path}\t${r.authorization ?? ''}\n`).join(''));
  fs.writeFileSync(script, luaScript(list, options.threads));
  try {
    const { stdout } = await run('wrk', [
      '-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', '5s',
      '-s', script, options.url,
    ], { timeout: (options.seconds + 30) * 1000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 });
    const line = stdout.split('\n').find((l) => l.startsWith('JSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const raw = JSON.parse(line.slice(5)) as { requests: number; duration_us: number; bytes: number; p50_us: number; p99_us: number; errors: number };
    const seconds = raw.duration_us / 1e6;
    return {
      requestsPerSecond: raw.requests / seconds,
      p50Ms: raw.p50_us / 1000,
      p99Ms: raw.p99_us / 1000,
      requests: raw.requests,
      errors: raw.errors,
      megabytesPerSecond: raw.bytes / seconds / 1e6,
    };
  } finally {
    fs.rmSync(script, { force: true });
    fs.rmSync(list, { force: true });
  }
}

/** Thread i of n takes items i, i+n, i+2n, ...: no two threads send the same request at once. */
function luaScript(list: string, threads: number): string {
  return `local items = {}
for line in io.lines(${JSON.stringify(list)}) do
  local path, authorization = line:match("^([^\t]*)\t(.*)$")
  items[#items + 1] = { path, authorization ~= "" and { Authorization = authorization } or nil }
end
local created = 0
setup = function(thread)
  thread:set("id", created)
  created = created + 1
end
local counter = nil
request = function()
  if counter == nil then counter = id end
  counter = (counter + ${threads}) % #items
  local it = items[counter + 1]
  return wrk.format("GET", it[1], it[2])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;
}
