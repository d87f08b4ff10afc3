/**
 * The desired state the controller reconciles to: a validated manifest and the workload specs topology
 * renders from it. Anything wrong here (unreadable file, schema violation, dangling reference) is a
 * terminal error raised before any driver is touched, so bad input never disturbs what runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LivestackValidationError } from '../model/errors';
import { loadManifest } from '../model/load-manifest';
import { Manifest } from '../model/manifest';
import { upcomingProgramBoundaries } from '../model/program-schedule';
import { AppSynthError, readSynthesizedApp, synthesizeApp } from '../app/run-app';
import { topology } from '../topology';
import { WorkloadSpec } from '../contract/workload-spec';
import { contentHash } from '../util/stable-json';
import { TerminalError, errorMessage } from './errors';

export interface DesiredState {
  readonly manifest: Manifest;
  /** Sorted by name. */
  readonly specs: WorkloadSpec[];
  /** Construct paths of channels and endpoints declared `stopped`. */
  readonly stopped: ReadonlySet<string>;
  /** Content hash of the manifest: a new hash is a new generation. */
  readonly hash: string;
  /** Where it came from, for messages. */
  readonly source: string;
}

/** Validate a parsed manifest and render its workloads; throws TerminalError naming `source` and the field. */
export function desiredState(input: unknown, source: string): DesiredState {
  return fromManifest(terminalOnInvalid(source, () => loadManifest(input, source)), source);
}

function fromManifest(manifest: Manifest, source: string): DesiredState {
  let specs: WorkloadSpec[];
  try {
    specs = topology(manifest);
  } catch (error) {
    throw new TerminalError(source, errorMessage(error));
  }
  const duplicate = specs.find((spec, index) => index > 0 && specs[index - 1].name === spec.name);
  if (duplicate) throw new TerminalError(source, `two workloads would be named ${duplicate.name}: account, channel and endpoint names must be unique`);
  const stopped = new Set<string>();
  for (const account of manifest.accounts) {
    for (const item of [...account.channels, ...account.endpoints]) if (item.state === 'stopped') stopped.add(item.path);
  }
  return { manifest, specs, stopped, hash: contentHash(manifest), source };
}

/** Read a `livestack.manifest.json` file. */
export function loadManifestFile(file: string): DesiredState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TerminalError(file, `cannot read the manifest: ${errorMessage(error)}`);
  }
  return fromManifest(terminalOnInvalid(file, () => loadManifest(text, file)), file);
}

/**
 * A previous synthesis as a desired state: a cdktf output directory (`cdktf synth`, `livestack synth
 * --out`) or one `livestack.manifest.json`. What `livestack plan --against` plans from.
 */
export function loadSynthesis(fileOrDir: string): DesiredState {
  let isDir: boolean;
  try {
    isDir = fs.statSync(fileOrDir).isDirectory();
  } catch (error) {
    throw new TerminalError(fileOrDir, `cannot read the previous synthesis: ${errorMessage(error)}`);
  }
  if (!isDir) return loadManifestFile(fileOrDir);
  try {
    return fromManifest(readSynthesizedApp(fileOrDir).manifest, fileOrDir);
  } catch (error) {
    if (error instanceof AppSynthError) throw new TerminalError(fileOrDir, error.output);
    if (error instanceof LivestackValidationError) throw new TerminalError(fileOrDir, error.message);
    throw error;
  }
}

/** Synthesize a cdktf app (as `cdktf synth` would) and take its manifest as the desired state. */
export async function loadApp(appFile: string): Promise<DesiredState> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'livestack-app-'));
  try {
    return fromManifest((await synthesizeApp(appFile, outdir)).manifest, appFile);
  } catch (error) {
    if (error instanceof AppSynthError) throw new TerminalError(appFile, `synthesis failed:\n${error.output}`);
    if (error instanceof LivestackValidationError) throw new TerminalError(appFile, error.message);
    throw error;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Epoch ms of every locator start or end, and every running program's start or end on a running
 * channel, still ahead of `now`: when what is served or recorded changes by itself. The workloads act
 * on these times themselves (origin and ingest read them from their live config); the controller wakes
 * to report the new state.
 */
export function upcomingTimers(state: DesiredState, now: number): number[] {
  const times: number[] = [];
  for (const account of state.manifest.accounts) {
    for (const locator of account.locators) {
      for (const time of [locator.start, locator.end]) {
        const at = time ? Date.parse(time) : NaN;
        if (at > now) times.push(at);
      }
    }
    for (const channel of account.channels) {
      if (channel.state !== 'running') continue;
      for (const program of channel.programs) times.push(...upcomingProgramBoundaries(program, now));
    }
  }
  return times.sort((a, b) => a - b);
}

/** Invalid input is terminal: retrying cannot fix it, and nothing running may be touched. */
function terminalOnInvalid<T>(source: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof LivestackValidationError) throw new TerminalError(source, error.message);
    throw error;
  }
}
