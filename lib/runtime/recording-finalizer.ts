/**
 * Closing a channel's recordings before its ingest is deleted, in the manner of a Kubernetes
 * finalizer. When the controller deletes an ingest workload (its channel declared stopped or gone, or
 * `destroy`), it first delivers a live config in which every program is stopped, and runs the
 * data-plane finalize task next to the ingest (lib/contract/tasks.ts) to learn, within a bound, when
 * the ingest has closed its assets (EXT-X-ENDLIST, `asset.json` state `stopped`); then it deletes the
 * workload. What is still open after that (the ingest was down, or too slow) the task closes from the
 * files once no workload writes them. Without this, players would see a live stream that never
 * advances. The controller itself never reads or writes recordings: the tasks run where the ingest
 * runs, through the driver.
 *
 * Not for a replace (a spec change): the new ingest continues the recordings. Not on the Terraform
 * path either: a container Terraform removes gets no such step (see plan.ts).
 */
import { ENV } from '../contract/workload-env';
import { FinalizeReport, finalizeCommand, finalizeReport, FinalizeRequest } from '../contract/tasks';
import { ingestLiveConfig, IngestLiveConfig } from '../contract/workload-config';
import { WorkloadSpec } from '../contract/workload-spec';
import { contentHash } from '../util/stable-json';
import { Driver, ObservedWorkload } from './drivers/driver';
import { errorMessage } from './errors';

/** How long an ingest gets to close its assets before it is deleted anyway. */
export const FINALIZE_TIMEOUT_MS = 5_000;

export interface FinalizerOptions {
  readonly driver: Driver;
  /** Past-tense lines naming the channel and the assets. */
  readonly log: (line: string) => void;
  /** @default FINALIZE_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

export interface FinalizeOutcome {
  /** The channel whose recordings were closed; undefined when it could not be told (nothing closed). */
  readonly channel?: string;
  /** Assets the ingest closed itself within the bound. */
  readonly closedByIngest: readonly string[];
  /** Assets still open after the bound (or with the ingest down), closed from their files after the delete. */
  readonly closedFromFiles: readonly string[];
}

/**
 * Deletes an ingest workload (`remove`) after its recordings are closed. `applied` is the spec last
 * applied to it (the controller's record): it names the channel and its programs, and is what the
 * tasks run as. Without a record nothing can be asked of the ingest: it is simply deleted.
 */
export async function deleteIngestFinalized(
  options: FinalizerOptions, workload: ObservedWorkload, applied: WorkloadSpec | undefined, remove: () => Promise<void>,
): Promise<FinalizeOutcome> {
  const channel = ingestChannelOf(applied);
  if (!applied || !channel) {
    await remove();
    return { channel, closedByIngest: [], closedFromFiles: [] };
  }
  const task = (request: Omit<FinalizeRequest, 'channel'>, timeoutMs: number) => runFinalize(options.driver, applied, { channel, ...request }, timeoutMs);
  const timeoutMs = options.timeoutMs ?? FINALIZE_TIMEOUT_MS;
  let closedByIngest: readonly string[] = [];
  let open = true;
  const live = stoppedPrograms(applied);
  if (live && workload.phase !== 'exited') {
    const since = Date.now();
    try {
      await options.driver.updateLive({ ...applied, liveConfig: live, liveHash: contentHash(live) });
      const report = await task({ sinceMs: since, waitMs: timeoutMs }, timeoutMs + 30_000);
      closedByIngest = report.closed;
      open = report.open.length > 0;
    } catch (error) {
      options.log(`Could not ask ingest ${workload.name} to close its recordings: ${errorMessage(error)}; closing them from their files after the delete`);
    }
  }
  await remove();
  let closedFromFiles: readonly string[] = [];
  if (open) {
    try {
      closedFromFiles = (await task({ close: true }, 30_000)).closedFromFiles;
    } catch (error) {
      options.log(`Could not close the recordings of channel ${channel} after deleting ${workload.name}: ${errorMessage(error)}`);
    }
  }
  if (closedByIngest.length > 0) options.log(`Closed recordings of channel ${channel} before deleting ${workload.name}: ${closedByIngest.join(', ')} (video on demand)`);
  if (closedFromFiles.length > 0) options.log(`Closed recordings of channel ${channel} from their files after deleting ${workload.name}: ${closedFromFiles.join(', ')} (the ingest did not close them in time)`);
  return { channel, closedByIngest, closedFromFiles };
}

/** The channel an ingest spec serves (from its static config). */
export function ingestChannelOf(spec: WorkloadSpec | undefined): string | undefined {
  if (!spec) return undefined;
  try {
    return (JSON.parse(spec.env[ENV.config]) as { channel?: { name?: string } }).channel?.name;
  } catch {
    return undefined;
  }
}

async function runFinalize(driver: Driver, spec: WorkloadSpec, request: FinalizeRequest, timeoutMs: number): Promise<FinalizeReport> {
  const stdout = await driver.runTask(spec, finalizeCommand(request), { timeoutMs });
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`the finalize task printed no report (last line: ${JSON.stringify(line.slice(0, 200))})`);
  }
  return finalizeReport.parse(parsed);
}

/** The live config last applied, with every program stopped; undefined without a usable record. */
function stoppedPrograms(applied: WorkloadSpec): IngestLiveConfig | undefined {
  const parsed = ingestLiveConfig.safeParse(applied.liveConfig);
  if (!parsed.success) return undefined;
  return { programs: parsed.data.programs.map((p) => ({ ...p, state: 'stopped' as const })) };
}
