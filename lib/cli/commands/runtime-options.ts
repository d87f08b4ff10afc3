/**
 * Options the runtime commands share (`--app`, `--manifest`, `--state-dir`, `--driver`) and how they
 * become a desired state, a driver and a controller. Not a command itself.
 */
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { Controller, ControllerOptions } from '../../runtime/controller';
import { DesiredState, loadApp, loadManifestFile } from '../../runtime/desired-state';
import { DRIVER_KINDS, DriverKind, createDriver } from '../../runtime/drivers';
import { Driver } from '../../runtime/drivers/driver';
import { TerminalError } from '../../runtime/errors';
import { writeLine } from '../output';

/** Where the runtime keeps its state unless `--state-dir` says otherwise. */
export const DEFAULT_STATE_DIR = '.livestack';

export interface RuntimeOptions {
  readonly app?: string;
  readonly manifest?: string;
  readonly stateDir: string;
  readonly driver: DriverKind;
}

/** Add the state and driver options, and with `desired` the app/manifest options. */
export function addRuntimeOptions(command: Command, options: { desired?: boolean; driver?: boolean } = {}): Command {
  if (options.desired !== false) {
    command
      .option('--app <file>', 'the cdktf app to run (e.g. examples/basic/main.ts); it is synthesized first')
      .option('--manifest <file>', 'a synthesized livestack.manifest.json instead of --app');
  }
  command.option('--state-dir <dir>', 'where the runtime keeps state, logs and local storage', DEFAULT_STATE_DIR);
  if (options.driver !== false) {
    command.addOption(new Option('--driver <kind>', 'where workloads run').choices([...DRIVER_KINDS]).default('local'));
  }
  return command;
}

/** The desired state from `--app` or `--manifest`; a terminal error when neither or both are given. */
export async function loadDesired(options: RuntimeOptions): Promise<DesiredState> {
  if (options.app && options.manifest) throw new TerminalError('options', 'give --app or --manifest, not both');
  if (options.app) return loadApp(options.app);
  if (options.manifest) return loadManifestFile(options.manifest);
  throw new TerminalError('options', 'which app? give --app <main.ts> (a cdktf app) or --manifest <livestack.manifest.json>');
}

export function openDriver(options: RuntimeOptions, kind: DriverKind = options.driver): Promise<Driver> {
  return createDriver(kind, { stateDir: path.resolve(options.stateDir), env: process.env });
}

export function openController(driver: Driver, options: RuntimeOptions, extra: Partial<ControllerOptions> = {}): Controller {
  return new Controller({ driver, stateDir: path.resolve(options.stateDir), ...extra });
}

/** Print to stdout (dropped once its reader went away: see ../output.ts). */
export function out(text: string): void {
  writeLine('stdout', text);
}
