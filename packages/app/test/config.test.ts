import { describe, expect, it } from 'vitest';
import type { CommandName, ConfirmConfig, RunConfig, RunnerConfig, SimConfig } from '../src/config/command-configs.js';
import { COMMANDS } from '../src/config/command-flags.js';
import { loadConfig, parseCommandLine } from '../src/config/command-line.js';
import { formatDuration, parseDuration } from '../src/config/duration.js';
import { envName, flagName } from '../src/config/flag-spec.js';
import { commandHelp, globalHelp } from '../src/config/help.js';
import { ConfigError } from '../src/config/read-flags.js';
import { deriveSystemId, randomSystemId } from '../src/system-id.js';

const required = ['--url', 'https://gitlab.example.com', '--token', 'glrt-abcdefghijklmnop'];

function run(argv: readonly string[], env: Record<string, string> = {}): RunConfig {
  const config = loadConfig('run', argv, env);
  if (config === 'help' || config.command !== 'run') throw new Error('expected a run config');
  return config;
}

/** The one-line message of the ConfigError `action` throws. */
function configError(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    [' 3s ', 3_000],
    // Go's compound forms, as gitlab-runner's flags and RUNNER_AFTER_SCRIPT_TIMEOUT take them.
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['10m0s', 600_000],
    ['1500us', 2],
    ['0', 0],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['30', '', 's', '-1s', '1d', 'abc', '5 m', 'm5', '1m 30s'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats the shortest exact unit', () => {
    expect([3_000, 500, 120_000, 90_000, 3_600_000].map(formatDuration)).toEqual(['3s', '500ms', '2m', '90s', '1h']);
  });
});

describe('run configuration', () => {
  const runner = (config: RunConfig): RunnerConfig => {
    const [only] = config.runners;
    if (only === undefined || config.runners.length !== 1) throw new Error('expected one runner');
    return only;
  };

  it('applies the defaults of docs/design.md §4', () => {
    const config = run(required);
    expect(config).toMatchObject({
      command: 'run',
      concurrent: 1,
      checkIntervalMs: 3_000,
      once: false,
      json: false,
      logLevel: 'info',
      warnings: [],
    });
    expect(config).not.toHaveProperty('shutdownTimeoutMs');
    expect(config).not.toHaveProperty('listenAddress');
    expect(runner(config)).toMatchObject({
      network: 'http',
      url: 'https://gitlab.example.com',
      strategy: 'auto',
      confirm: 'auto',
      keepAliveIntervalMs: 30_000,
      probe: false,
      executor: 'shell',
      limit: 1,
    });
    expect(runner(config).token.reveal()).toBe('glrt-abcdefghijklmnop');
    expect(config.systemId).toMatch(/^[sr]_[0-9a-zA-Z]{12}$/);
  });

  it('keeps state in $XDG_STATE_HOME/runner-core, else ~/.local/state/runner-core, unless --state-dir says where', () => {
    expect(run(required, { XDG_STATE_HOME: '/var/lib/ci' }).stateDir).toBe('/var/lib/ci/runner-core');
    expect(run(required, {}).stateDir).toMatch(/\/\.local\/state\/runner-core$/);
    expect(run([...required, '--state-dir', '/srv/runner'], { RUNNER_CORE_STATE_DIR: '/ignored' }).stateDir).toBe(
      '/srv/runner',
    );
    expect(run(required, { RUNNER_CORE_STATE_DIR: '/from/env' }).stateDir).toBe('/from/env');
  });

  it('is frozen', () => {
    const config = run(required);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(runner(config))).toBe(true);
    expect(() => {
      (config as { concurrent: number }).concurrent = 9;
    }).toThrow(TypeError);
  });

  it('takes flags over RUNNER_CORE_ variables over defaults', () => {
    const env = { RUNNER_CORE_CHECK_INTERVAL: '10s', RUNNER_CORE_CONCURRENCY: '4', RUNNER_CORE_PROBE: 'yes' };
    const fromEnv = run(required, env);
    expect(fromEnv).toMatchObject({ checkIntervalMs: 10_000, concurrent: 4 });
    expect(runner(fromEnv)).toMatchObject({ probe: true, limit: 4 });
    const fromFlag = run([...required, '--check-interval', '500ms', '--concurrency=2'], env);
    expect(fromFlag).toMatchObject({ checkIntervalMs: 500, concurrent: 2 });
  });

  it('reads required flags from the environment too, RUNNER_CORE_ first, then gitlab-runner’s CI_SERVER_ names', () => {
    const config = run([], { RUNNER_CORE_URL: 'http://127.0.0.1:1', RUNNER_CORE_TOKEN: 'glrt-fromenv' });
    expect(runner(config).url).toBe('http://127.0.0.1:1');
    expect(runner(config).token.reveal()).toBe('glrt-fromenv');
    const aliases = {
      CI_SERVER_URL: 'https://gitlab.alias.example',
      CI_SERVER_TOKEN: 'glrt-alias',
      CI_SERVER_TLS_CA_FILE: '/ca.pem',
      CI_SERVER_TLS_CERT_FILE: '/cert.pem',
      CI_SERVER_TLS_KEY_FILE: '/key.pem',
    };
    expect(runner(run([], aliases))).toMatchObject({
      url: 'https://gitlab.alias.example',
      tlsCaFile: '/ca.pem',
      tlsCertFile: '/cert.pem',
      tlsKeyFile: '/key.pem',
    });
    expect(runner(run([], { ...aliases, RUNNER_CORE_URL: 'https://wins.example' })).url).toBe('https://wins.example');
    expect(configError(() => run([], { CI_SERVER_URL: 'ftp://x', CI_SERVER_TOKEN: 't' }))).toMatch(/^CI_SERVER_URL: /);
  });

  it('ignores empty environment variables', () => {
    expect(run(required, { RUNNER_CORE_CONCURRENCY: '' }).concurrent).toBe(1);
  });

  it('parses every flag', () => {
    const config = run([
      ...required,
      '--strategy',
      'runner-status',
      '--confirm',
      'when-requested',
      '--keep-alive',
      '2m',
      '--probe',
      '--once',
      '--executor',
      'exec',
      '--exec',
      'cat > /dev/null',
      '--json',
      '--log-level',
      'debug',
      '--tls-ca-file',
      '/etc/ssl/ca.pem',
      '--tls-cert-file',
      '/etc/ssl/client.pem',
      '--tls-key-file',
      '/etc/ssl/client.key',
      '--system-id',
      's_0123456789ab',
      '--max-builds',
      '5',
      '--wait-timeout',
      '1m30s',
      '--shutdown-timeout',
      '2m',
      '--listen-address',
      '127.0.0.1:9252',
      '--builds-dir',
      '/srv/builds',
    ]);
    expect(config).toMatchObject({
      once: true,
      json: true,
      logLevel: 'debug',
      systemId: 's_0123456789ab',
      maxBuilds: 5,
      waitTimeoutMs: 90_000,
      shutdownTimeoutMs: 120_000,
      listenAddress: { host: '127.0.0.1', port: 9252 },
    });
    expect(runner(config)).toMatchObject({
      strategy: 'runner-status',
      confirm: 'when-requested',
      keepAliveIntervalMs: 120_000,
      probe: true,
      executor: 'exec',
      exec: 'cat > /dev/null',
      tlsCaFile: '/etc/ssl/ca.pem',
      tlsCertFile: '/etc/ssl/client.pem',
      tlsKeyFile: '/etc/ssl/client.key',
      buildsDir: '/srv/builds',
    });
  });

  it('takes a GitLab URL ending in /api/v4 as the instance it names', () => {
    expect(runner(run(['--url', 'https://gitlab.example.com/api/v4/', '--token', 't'])).url).toBe(
      'https://gitlab.example.com',
    );
    expect(runner(run(['--url', 'https://example.com/gitlab/api/v4', '--token', 't'])).url).toBe(
      'https://example.com/gitlab',
    );
  });

  it.each([
    [['--concurrency', 'x'], '--concurrency: expected a positive integer, got "x"'],
    [['--concurrency', '0'], '--concurrency: expected a positive integer, got "0"'],
    [['--concurrency', '-1'], '--concurrency: expected a positive integer, got "-1"'],
    [['--check-interval', '5'], '--check-interval: expected a duration such as 500ms, 30s or 2m, got "5"'],
    [['--strategy', 'magic'], '--strategy: expected one of auto, state-put, runner-status, got "magic"'],
    [
      ['--log-level', 'loud'],
      '--log-level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ],
    [['--bogus'], '--bogus: unknown flag for "run" (see runner-core run --help)'],
    [['--concurency', '2'], '--concurency: unknown flag for "run" (did you mean --concurrency?)'],
    [['--tls-ca', 'x'], '--tls-ca: unknown flag for "run" (did you mean --tls-ca-file?)'],
    [['-x'], '-x: unknown flag for "run" (see runner-core run --help)'],
    [['--once=yes'], '--once: takes no value, got "yes"'],
    [['--url'], '--url: expected a value (write --url=VALUE for a value starting with "-")'],
    [['extra'], 'unexpected argument "extra" for "run"'],
    [['--executor', 'exec'], '--exec: required with --executor exec'],
    [['--tls-cert-file', '/c.pem'], '--tls-key-file: required with --tls-cert-file'],
    [['--listen-address', '9252'], '--listen-address: expected HOST:PORT such as 127.0.0.1:9252 or :9252, got "9252"'],
    [['--max-builds', '0'], '--max-builds: expected a positive integer, got "0"'],
  ])('refuses %j with one line naming the flag', (extra, message) => {
    const argv = extra[0] === '--url' ? [...extra, '--token', 't'] : [...required, ...extra];
    expect(configError(() => run(argv))).toBe(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(configError(() => run(required, { RUNNER_CORE_CONCURRENCY: 'many' }))).toBe(
      'RUNNER_CORE_CONCURRENCY: expected a positive integer, got "many"',
    );
    expect(configError(() => run(required, { RUNNER_CORE_ONCE: 'maybe' }))).toBe(
      'RUNNER_CORE_ONCE: expected true or false, got "maybe"',
    );
  });

  it('says how to give a missing required flag', () => {
    expect(configError(() => run(['--url', 'https://gitlab.example.com']))).toBe(
      '--token: required (or set RUNNER_CORE_TOKEN, CI_SERVER_TOKEN or use --config)',
    );
    expect(configError(() => run([]))).toBe('--url: required (or set RUNNER_CORE_URL, CI_SERVER_URL or use --config)');
  });

  it('refuses URLs that are not http(s) or that carry credentials', () => {
    expect(configError(() => run(['--url', 'ftp://x', '--token', 't']))).toMatch(/^--url: expected an http\(s\) URL/);
    expect(configError(() => run(['--url', 'https://user:pw@x', '--token', 't']))).toMatch(
      /^--url: expected a URL without user name or password/,
    );
  });

  it('never echoes a token in an error', () => {
    const message = configError(() => run(['--url', 'https://x', '--token', 'glrt-has space']));
    expect(message).toBe('--token: expected a non-empty token without spaces');
    expect(message).not.toContain('has space');
  });
});

describe('other commands', () => {
  it('confirm needs url, job id and job token', () => {
    const config = loadConfig(
      'confirm',
      ['--url', 'http://127.0.0.1:9', '--job-id', '42', '--job-token', 'glcbt-x', '--prepare', 'true'],
      {},
    ) as ConfirmConfig;
    expect(config).toMatchObject({ command: 'confirm', jobId: 42, prepare: 'true', keepAliveIntervalMs: 30_000 });
    expect(config.jobToken.reveal()).toBe('glcbt-x');
    expect(configError(() => loadConfig('confirm', ['--url', 'http://x', '--job-token', 't'], {}))).toBe(
      '--job-id: required (or set RUNNER_CORE_JOB_ID)',
    );
  });

  it('sim has defaults and bounds', () => {
    expect(loadConfig('sim', [], {})).toEqual({
      command: 'sim',
      port: 4747,
      profile: 'two-phase',
      jobs: 3,
      ackWindowMs: 120_000,
    } satisfies SimConfig);
    expect(configError(() => loadConfig('sim', ['--port', '70000'], {}))).toBe(
      '--port: expected an integer from 0 to 65535, got "70000"',
    );
    expect(configError(() => loadConfig('sim', ['--profile', 'old'], {}))).toBe(
      '--profile: expected one of legacy, two-phase, runner-status, got "old"',
    );
  });

  it('demo takes no arguments', () => {
    expect(loadConfig('demo', [], {})).toEqual({ command: 'demo', logLevel: 'error' });
    expect(configError(() => loadConfig('demo', ['--url', 'x'], {}))).toBe(
      '--url: unknown flag for "demo" (see runner-core demo --help)',
    );
  });
});

describe('command line', () => {
  it('routes help, version and commands', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help', 'sim'], {})).toEqual({ kind: 'help', command: 'sim' });
    expect(parseCommandLine(['run', '--help'], {})).toEqual({ kind: 'help', command: 'run' });
    expect(parseCommandLine(['confirm', '-h'], {})).toEqual({ kind: 'help', command: 'confirm' });
    expect(parseCommandLine(['--version'], {})).toEqual({ kind: 'version' });
    expect(parseCommandLine(['demo'], {})).toMatchObject({ kind: 'command', config: { command: 'demo' } });
  });

  it('names an unknown or missing command', () => {
    expect(configError(() => parseCommandLine([], {}))).toBe('missing command (see runner-core --help)');
    expect(configError(() => parseCommandLine(['fly'], {}))).toBe('unknown command "fly" (see runner-core --help)');
    expect(configError(() => parseCommandLine(['--url', 'x'], {}))).toBe(
      '--url: expected a command first (see runner-core --help)',
    );
  });
});

describe('help', () => {
  it.each(Object.keys(COMMANDS) as CommandName[])(
    '%s --help lists every flag with its default and variable',
    (name) => {
      const help = commandHelp(name);
      for (const [key, spec] of Object.entries(COMMANDS[name].flags)) {
        expect(help).toContain(`--${flagName(key)}`);
        expect(help).toContain(`env: ${envName(key)}`);
        const shown = 'required' in spec ? 'required' : 'defaultHelp' in spec ? spec.defaultHelp : spec.default;
        expect(help).toContain(shown ?? 'default: none');
      }
    },
  );

  it('runner-core --help lists every command', () => {
    const help = globalHelp();
    for (const name of Object.keys(COMMANDS)) expect(help).toContain(`  ${name} `);
    expect(help).toContain('RUNNER_CORE_CHECK_INTERVAL');
  });

  it('sim --help says that printing the fake token is the point', () => {
    expect(commandHelp('sim')).toContain('printed on purpose');
  });
});

describe('system id', () => {
  it('derives s_ + 12 hex from the machine, stably, without revealing it', () => {
    const machine = { machineId: () => 'd3adb33fmachine', hostname: () => 'host' };
    const id = deriveSystemId(machine);
    expect(id).toMatch(/^s_[0-9a-f]{12}$/);
    expect(deriveSystemId(machine)).toBe(id);
    expect(id).not.toContain('d3adb33f');
    expect(deriveSystemId({ machineId: () => undefined, hostname: () => 'host' })).toMatch(/^s_[0-9a-f]{12}$/);
  });

  it('falls back to r_ + 12 random alphanumerics', () => {
    expect(deriveSystemId({ machineId: () => undefined, hostname: () => '' })).toMatch(/^r_[0-9a-zA-Z]{12}$/);
    expect(randomSystemId()).not.toBe(randomSystemId());
  });
});
