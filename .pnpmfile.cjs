// `pnpm runner-core …` at the repository root, with nothing of pnpm's own in the way.
//
// Run as a package script, the command would meet pnpm three times: pnpm prints its script banner on stdout (the whole
// command line, a runner token included, and 4 lines that break `--json`) and `ELIFECYCLE` there on failure; on Ctrl-C
// pnpm exits 130 at once while the CLI is still shutting down, or kills it, or hands it a second signal (which makes
// `run` abort its jobs). No pnpm setting scopes the banner to one script: `--silent`, `reporter=silent` or
// `loglevel=silent` in .npmrc mute every command, `pnpm install` included.
//
// So this hook (`updateConfig`, experimental since pnpm 10.8: pnpm-runner-core.scenario.test.ts is what tells when a
// pnpm upgrade breaks it), which pnpm loads for every command in this workspace, takes over exactly
// `pnpm runner-core …` and `pnpm run runner-core …` typed at the repository root, before pnpm prints anything: it starts
// `node scripts/runner-core.mjs …` (the launcher: builds only when needed, then the CLI) in a process group of its
// own, forwards each signal it gets to it once (Ctrl-C reaches pnpm, which passes it on: the CLI sees one SIGINT),
// and exits with the CLI's exit code, or dies of the signal that ended it. Any other command, or pnpm options
// before the script name (`pnpm -s runner-core`), passes through untouched to the ordinary `runner-core` script.
// The CLI runs outside the terminal's foreground group: it must not read the terminal (it does not: jobs get no stdin).
//
// NOTE: pnpm records this file's checksum in pnpm-lock.yaml (`pnpmfileChecksum`); after editing it, run `pnpm install`
// and commit the lockfile, or `pnpm install --frozen-lockfile` fails.
'use strict';

const { spawn } = require('node:child_process');
const { realpathSync } = require('node:fs');
const { join } = require('node:path');
const { constants } = require('node:os');

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

function runnerCoreArgs() {
  const args = process.argv.slice(2);
  const rest =
    args[0] === 'runner-core'
      ? args.slice(1)
      : args[0] === 'run' && args[1] === 'runner-core'
        ? args.slice(2)
        : undefined;
  // NOTE: process groups are POSIX; on Windows the ordinary script runs.
  if (rest === undefined || process.platform === 'win32') return undefined;
  try {
    if (realpathSync(process.cwd()) !== realpathSync(__dirname)) return undefined;
  } catch {
    return undefined;
  }
  // `pnpm run x -- a` hands the script `a`; keep that meaning.
  return rest[0] === '--' ? rest.slice(1) : rest;
}

function takeOver(args) {
  const child = spawn(process.execPath, [join(__dirname, 'scripts', 'runner-core.mjs'), ...args], {
    stdio: 'inherit',
    // NOTE: a group of its own, so a signal from the terminal reaches the CLI once, through the forwarding below,
    // rather than twice (straight from the terminal and again from here).
    detached: true,
  });
  // NOTE: to the CLI's process, not its group: a job's processes live in groups of their own, and one the CLI is
  // starting at that moment is still in the CLI's group until it calls setsid: a group signal would kill the job.
  const forward = (signal) => {
    try {
      process.kill(child.pid, signal);
    } catch {
      // the process is gone already: its exit is on its way
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  // Ctrl-Z: stop the CLI with pnpm, and let it go on with pnpm.
  process.on('SIGTSTP', () => {
    forward('SIGTSTP');
    process.kill(process.pid, 'SIGSTOP');
  });
  process.on('SIGCONT', () => forward('SIGCONT'));
  child.once('error', (error) => {
    process.stderr.write(`runner-core: cannot start ${process.execPath}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal !== null) {
      for (const name of [...FORWARDED, 'SIGTSTP', 'SIGCONT']) process.removeAllListeners(name);
      process.kill(process.pid, signal);
      setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1_000);
      return;
    }
    process.exit(code ?? 1);
  });
  // Never settles: pnpm waits here, and the process ends with the CLI's exit.
  return new Promise(() => {});
}

module.exports = {
  hooks: {
    updateConfig(config) {
      const args = runnerCoreArgs();
      return args === undefined ? config : takeOver(args);
    },
  },
};
