import { Command } from 'commander';
import * as dataplane from './dataplane';
import * as probe from './probe';
import * as synth from './synth';
import * as supervise from './supervise';

/** Every command module exports `register(program)`. Add new commands here, one line each. */
export function registerCommands(program: Command): void {
  dataplane.register(program);
  probe.register(program);
  synth.register(program);
  supervise.register(program);
}
