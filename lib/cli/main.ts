#!/usr/bin/env node
/**
 * The `livestack` command. Each command lives in its own module under `commands/` and registers
 * itself on the program; this file only wires them together.
 */
import { Command } from 'commander';
import { version } from '../../package.json';
import { registerCommands } from './commands';
import { guardOutput, writeLine } from './output';

export function buildProgram(): Command {
  const program = new Command('livestack')
    .description('Live streaming as code: synthesize, plan, apply and run livestack apps.')
    .version(version, '-V, --version', 'print the livestack version')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  guardOutput();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = (error as { exitCode?: number }).exitCode ?? 1;
      return;
    }
    writeLine('stderr', `livestack: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
