/**
 * A program's schedule: what a program does at a given time, from its declared state and its optional
 * `start` and `end`. Pure (the time is an argument): the ingest that acts on it, the runtime that
 * reports it and the tests all read the same rule, and topology stays free of clocks.
 *
 * A running program records within `[start, end)`; outside it the program behaves as stopped. The
 * limit of running programs per channel counts programs declared running, whatever their schedule
 * (see checks.ts).
 */
import { ProgramManifest } from './manifest';

/**
 * - `scheduled`: declared running, before its start (nothing recorded yet);
 * - `recording`: declared running, within its window;
 * - `ended`: declared running, at or after its end (the asset is closed, video on demand);
 * - `stopped`: declared stopped.
 */
export type ProgramPhase = 'scheduled' | 'recording' | 'ended' | 'stopped';

export type ScheduledProgram = Pick<ProgramManifest, 'state' | 'start' | 'end'>;

export function programPhase(program: ScheduledProgram, nowMs: number): ProgramPhase {
  if (program.state !== 'running') return 'stopped';
  if (program.start !== undefined && nowMs < Date.parse(program.start)) return 'scheduled';
  if (program.end !== undefined && nowMs >= Date.parse(program.end)) return 'ended';
  return 'recording';
}

/** Epoch ms of a running program's start and end still ahead of `nowMs` (when its phase changes by itself). */
export function upcomingProgramBoundaries(program: ScheduledProgram, nowMs: number): number[] {
  if (program.state !== 'running') return [];
  return [program.start, program.end]
    .map((time) => (time === undefined ? NaN : Date.parse(time)))
    .filter((at) => at > nowMs);
}

/** The earliest boundary of any of `programs` still ahead of `nowMs`, or undefined. */
export function nextProgramBoundary(programs: readonly ScheduledProgram[], nowMs: number): number | undefined {
  const times = programs.flatMap((p) => upcomingProgramBoundaries(p, nowMs));
  return times.length > 0 ? Math.min(...times) : undefined;
}
