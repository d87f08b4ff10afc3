/**
 * Program schedules, as the ingest applies them. The channel's declared programs arrive with its live
 * config (at boot and through the control file); the workload itself starts and stops recording at
 * their boundaries, with a timer to the next one, so a schedule behaves the same in a container that
 * Terraform deployed and under the runtime. Outside its window a running program behaves as stopped:
 * before `start` nothing is recorded, at `end` its asset is closed (EXT-X-ENDLIST).
 */
import { ProgramManifest } from '../../model/manifest';
import { nextProgramBoundary, programPhase, ProgramPhase } from '../../model/program-schedule';
import { Logger } from '../common/log';

/** Node's timers overflow past 2^31-1 ms (about 24.8 days): longer waits are taken in steps. */
const MAX_TIMER_MS = 24 * 3600 * 1000;

export interface ScheduleDecision {
  /** The programs as the recorder must see them now: running only within their windows. */
  readonly programs: ProgramManifest[];
  /** Each program's phase, by name. */
  readonly phases: ReadonlyMap<string, ProgramPhase>;
  /** When to decide again (epoch ms), if any boundary is ahead. */
  readonly nextBoundaryMs?: number;
}

/** What the declared programs mean at `nowMs` (pure). */
export function decideSchedule(programs: readonly ProgramManifest[], nowMs: number): ScheduleDecision {
  const phases = new Map<string, ProgramPhase>();
  const effective = programs.map((program): ProgramManifest => {
    const phase = programPhase(program, nowMs);
    phases.set(program.name, phase);
    return phase === 'recording' || program.state !== 'running' ? program : { ...program, state: 'stopped' };
  });
  return { programs: effective, phases, nextBoundaryMs: nextProgramBoundary(programs, nowMs) };
}

/**
 * Holds the declared programs, hands the recorder what they mean now, and wakes itself at the next
 * boundary to do it again. `apply` errors are logged; the next boundary or live config tries again.
 */
export class ProgramScheduler {
  private declared: readonly ProgramManifest[] = [];
  private phases: ReadonlyMap<string, ProgramPhase> = new Map();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly apply: (programs: ProgramManifest[]) => void,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** New declared programs (boot, live config change): applied at once. */
  set(programs: readonly ProgramManifest[]): void {
    this.declared = programs;
    this.decide();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private decide(): void {
    this.stop();
    const now = this.now();
    const decision = decideSchedule(this.declared, now);
    for (const program of this.declared) {
      const before = this.phases.get(program.name);
      const after = decision.phases.get(program.name)!;
      if (before !== undefined && before !== after) this.log.info(`program ${program.name}: ${before} -> ${after} (schedule ${program.start ?? '-'} to ${program.end ?? '-'})`);
      else if (before === undefined && (after === 'scheduled' || after === 'ended')) this.log.info(`program ${program.name}: ${after} (schedule ${program.start ?? '-'} to ${program.end ?? '-'})`);
    }
    this.phases = decision.phases;
    try {
      this.apply(decision.programs);
    } catch (error) {
      this.log.error(`could not apply the program schedule: ${(error as Error).message}`);
    }
    if (decision.nextBoundaryMs !== undefined) {
      // A timer that fires a little early finds nothing changed and waits the rest.
      this.timer = setTimeout(() => this.decide(), Math.min(MAX_TIMER_MS, Math.max(1, decision.nextBoundaryMs - now)));
      this.timer.unref();
    }
  }
}
