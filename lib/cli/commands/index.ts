import { Command } from 'commander';
import * as dataplane from './dataplane';
import * as finalizeRecordings from './finalize-recordings';
import * as probe from './probe';
import * as synth from './synth';
import * as supervise from './supervise';
import * as plan from './plan';
import * as apply from './apply';
import * as up from './up';
import * as status from './status';
import * as logs from './logs';
import * as destroy from './destroy';
import * as doctor from './doctor';
import * as token from './token';
import * as key from './key';
import * as writeLiveConfig from './write-live-config';
import * as readIngestHealth from './read-ingest-health';

/** Every command module exports `register(program)`. Add new commands here, one line each. */
export function registerCommands(program: Command): void {
  dataplane.register(program);
  finalizeRecordings.register(program);
  probe.register(program);
  synth.register(program);
  supervise.register(program);
  plan.register(program);
  apply.register(program);
  up.register(program);
  status.register(program);
  logs.register(program);
  destroy.register(program);
  doctor.register(program);
  token.register(program);
  key.register(program);
  writeLiveConfig.register(program);
  readIngestHealth.register(program);
}
