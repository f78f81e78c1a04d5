import { appConfig } from './app-config.js';
import type { CommandConfig, CommandName, ConfirmConfig, DemoConfig, SimConfig } from './command-configs.js';
import { COMMANDS, confirmFlags, demoFlags, runFlags, simFlags, verifyFlags } from './command-flags.js';
import { ConfigError, type Environment, readFlags } from './read-flags.js';
import { runConfigOf, verifyConfigOf } from './run-config.js';

/** What the command line asked for: a command's help, or a command with its frozen configuration. */
export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'command'; readonly config: CommandConfig };

/** Whether `name` is a command. */
export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Parses the whole command line (`argv` without `node` and the script) once: flags, then `RUNNER_CORE_<FLAG>`
 * variables, then defaults.
 *
 * @throws {ConfigError} one line naming the flag or variable that was wrong.
 */
export function parseCommandLine(argv: readonly string[], env: Environment): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) throw new ConfigError('missing command (see runner-core --help)');
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') {
    const [topic] = rest;
    if (topic === undefined) return { kind: 'help' };
    if (!isCommandName(topic))
      throw new ConfigError(`unknown command ${JSON.stringify(topic)} (see runner-core --help)`);
    return { kind: 'help', command: topic };
  }
  if (first.startsWith('-')) throw new ConfigError(`${first}: expected a command first (see runner-core --help)`);
  if (!isCommandName(first)) throw new ConfigError(`unknown command ${JSON.stringify(first)} (see runner-core --help)`);
  const config = loadConfig(first, rest, env);
  return config === 'help' ? { kind: 'help', command: first } : { kind: 'command', config };
}

/**
 * Parses one command's flags into its frozen configuration, or `'help'` when `--help` was given.
 *
 * @throws {ConfigError} one line naming the flag or variable that was wrong.
 */
export function loadConfig(command: CommandName, argv: readonly string[], env: Environment): CommandConfig | 'help' {
  switch (command) {
    case 'run': {
      const reading = readFlags(command, runFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      return runConfigOf(reading.values, env);
    }
    case 'verify': {
      const reading = readFlags(command, verifyFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      return verifyConfigOf(reading.values, env);
    }
    case 'confirm': {
      const reading = readFlags(command, confirmFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      const { keepAlive, ...values } = reading.values;
      return Object.freeze({
        ...appConfig(),
        ...values,
        command,
        keepAliveIntervalMs: keepAlive,
      } satisfies ConfirmConfig);
    }
    case 'sim': {
      const reading = readFlags(command, simFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      const { ackWindow, token, ...values } = reading.values;
      return Object.freeze({
        ...values,
        command,
        ackWindowMs: ackWindow,
        ...(token === undefined ? {} : { token }),
      } satisfies SimConfig);
    }
    case 'demo': {
      const reading = readFlags(command, demoFlags, argv, env);
      if (reading.kind === 'help') return 'help';
      return Object.freeze({ ...reading.values, command } satisfies DemoConfig);
    }
    default: {
      const unreachable: never = command;
      throw new ConfigError(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}
