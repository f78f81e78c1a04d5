import { confirmCommand } from '../commands/confirm.command.js';
import { demoCommand } from '../commands/demo.command.js';
import { runCommand } from '../commands/run.command.js';
import { simCommand } from '../commands/sim.command.js';
import { verifyCommand } from '../commands/verify.command.js';
import type { CommandConfig } from '../config/command-configs.js';
import { type CommandLine, parseCommandLine } from '../config/command-line.js';
import { commandHelp, globalHelp } from '../config/help.js';
import { ConfigError } from '../config/read-flags.js';
import { ContainerError } from '../container.js';
import { APP_VERSION } from '../version.js';
import { type CliIo, processIo } from './cli-io.js';

/** Exit codes of `runner-core` (also listed in `--help`). */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2 });

function dispatch(config: CommandConfig, io: CliIo): Promise<number> {
  switch (config.command) {
    case 'run':
      return runCommand(config, io);
    case 'verify':
      return verifyCommand(config, io);
    case 'confirm':
      return confirmCommand(config, io);
    case 'sim':
      return simCommand(config, io);
    case 'demo':
      return demoCommand(config, io);
    default: {
      const unreachable: never = config;
      throw new ConfigError(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The `runner-core` command line: parses `argv` (without `node` and the script) once, runs the command, and returns
 * the exit code. Configuration mistakes print one line (`runner-core: --flag: what was wrong`) and return 2; no
 * stack trace reaches the terminal.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let line: CommandLine;
  try {
    line = parseCommandLine(argv, io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`runner-core: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  switch (line.kind) {
    case 'help':
      io.stdout(line.command === undefined ? globalHelp() : commandHelp(line.command));
      return EXIT.ok;
    case 'version':
      io.stdout(`runner-core ${APP_VERSION}\n`);
      return EXIT.ok;
    case 'command':
      try {
        return await dispatch(line.config, io);
      } catch (error) {
        if (error instanceof ConfigError || error instanceof ContainerError) {
          io.stderr(`runner-core: ${error.message}\n`);
          return EXIT.usage;
        }
        // NOTE: name and message only; our errors carry no token, and a stack trace helps nobody at a terminal.
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        io.stderr(`runner-core: unexpected failure: ${what}\n`);
        return EXIT.failed;
      }
    default: {
      const unreachable: never = line;
      throw new Error(`unknown command line ${JSON.stringify(unreachable)}`);
    }
  }
}
