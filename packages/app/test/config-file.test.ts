import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../src/config/command-configs.js';
import { loadConfig } from '../src/config/command-line.js';
import { parseConfigFile } from '../src/config/config-file.js';
import { ConfigError } from '../src/config/read-flags.js';

/** A config.toml as gitlab-runner's `register` writes it for the shell executor, with keys runner-core ignores. */
const GITLAB_RUNNER_SHELL = `concurrent = 4
check_interval = 5
log_level = "warning"
shutdown_timeout = 30
listen_address = "127.0.0.1:9252"

[session_server]
  session_timeout = 1800

[[runners]]
  name = "build-box"
  url = "https://gitlab.example.com/"
  id = 17
  token = "glrt-firstRunnerToken0001"
  token_obtained_at = 2026-01-01T00:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "shell"
  limit = 2
  request_concurrency = 1
  output_limit = 8192
  builds_dir = "/srv/builds"
  tls-ca-file = "/etc/gitlab-runner/certs/ca.crt"
  [runners.custom_build_dir]
  [runners.cache]
    MaxUploadedArchiveSize = 0

[[runners]]
  name = "deploy-box"
  url = "https://gitlab.example.com"
  token = "glrt-secondRunnerToken002"
  executor = "shell"
`;

function problem(source: string): string {
  try {
    parseConfigFile(source, 'config.toml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe("gitlab-runner's config.toml (the keys that apply)", () => {
  it('reads the global settings and every [[runners]] of a shell runner’s file', () => {
    const file = parseConfigFile(GITLAB_RUNNER_SHELL, 'config.toml');
    expect(file).toMatchObject({
      concurrent: 4,
      checkIntervalMs: 5_000,
      shutdownTimeoutMs: 30_000,
      listenAddress: '127.0.0.1:9252',
      logLevel: 'warn',
    });
    expect(file.runners.map(({ token, ...rest }) => ({ ...rest, token: token.reveal() }))).toEqual([
      {
        name: 'build-box',
        url: 'https://gitlab.example.com/',
        token: 'glrt-firstRunnerToken0001',
        executor: 'shell',
        limit: 2,
        requestConcurrency: 1,
        outputLimitBytes: 8192 * 1024,
        buildsDir: '/srv/builds',
        tlsCaFile: '/etc/gitlab-runner/certs/ca.crt',
      },
      {
        name: 'deploy-box',
        url: 'https://gitlab.example.com',
        token: 'glrt-secondRunnerToken002',
        executor: 'shell',
        limit: 0,
        requestConcurrency: 1,
      },
    ]);
  });

  it('warns about each key it ignores, by name and line', () => {
    const file = parseConfigFile(GITLAB_RUNNER_SHELL, 'config.toml');
    expect(file.warnings).toEqual([
      'config.toml:7: session_server: not used by runner-core (ignored)',
      'config.toml:13: runners[0].id: not used by runner-core (ignored)',
      'config.toml:15: runners[0].token_obtained_at: not used by runner-core (ignored)',
      'config.toml:16: runners[0].token_expires_at: not used by runner-core (ignored)',
      'config.toml:23: runners[0].custom_build_dir: not used by runner-core (ignored)',
      'config.toml:24: runners[0].cache: not used by runner-core (ignored)',
    ]);
  });

  it.each([
    [
      'concurrent = "4"\n[[runners]]\nurl="https://x"\ntoken="t"\n',
      'config.toml:1: concurrent: expected an integer of at least 1, got "4"',
    ],
    [
      '[[runners]]\nurl = "https://x"\ntoken = "t"\n\n[[runners]]\nurl = "https://y"\ntoken = "u"\nlimit = -1\n',
      'config.toml:8: runners[1].limit: expected an integer of at least 0, got -1',
    ],
    ['[[runners]]\nurl = "https://x"\ntoken = 5\n', 'config.toml:3: runners[0].token: expected a non-empty string'],
    [
      '[[runners]]\nurl = "https://x"\ntoken = "t"\nexecutor = "docker"\n',
      'config.toml:4: runners[0].executor: runner-core runs the shell executor only, got "docker"',
    ],
    ['[[runners]]\ntoken = "t"\n', 'config.toml:1: runners[0]: url is required'],
    ['concurrent = 2\n', 'config.toml: no [[runners]] to run'],
    ['concurrent = \n', 'config.toml:1:14: invalid value'],
    [
      'log_level = "loud"\n[[runners]]\nurl="https://x"\ntoken="t"\n',
      'config.toml:1: log_level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ],
  ])('refuses %j with one line naming the key and the line', (source, message) => {
    expect(problem(source)).toBe(message);
  });

  it('never echoes a token of the wrong type', () => {
    expect(problem('[[runners]]\nurl = "https://x"\ntoken = ["glrt-secret"]\n')).not.toContain('glrt-secret');
  });

  it('takes gitlab-runner’s panic level as fatal', () => {
    expect(parseConfigFile('log_level = "panic"\n[[runners]]\nurl="https://x"\ntoken="t"\n', 'c').logLevel).toBe(
      'fatal',
    );
  });
});

describe('run --config', () => {
  const write = (source: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'runner-core-config-')), 'config.toml');
    writeFileSync(path, source);
    return path;
  };
  const run = (argv: readonly string[]): RunConfig => {
    const config = loadConfig('run', argv, {});
    if (config === 'help' || config.command !== 'run') throw new Error('expected a run config');
    return config;
  };

  it('serves every runner of the file, each limited by its limit and by concurrent', () => {
    const config = run(['--config', write(GITLAB_RUNNER_SHELL)]);
    expect(config).toMatchObject({
      concurrent: 4,
      checkIntervalMs: 5_000,
      shutdownTimeoutMs: 30_000,
      listenAddress: { host: '127.0.0.1', port: 9252 },
      logLevel: 'warn',
    });
    expect(
      config.runners.map((runner) => [
        runner.name,
        runner.url,
        runner.limit,
        runner.buildsDir,
        runner.outputLimitBytes,
      ]),
    ).toEqual([
      ['build-box', 'https://gitlab.example.com', 2, '/srv/builds', 8192 * 1024],
      ['deploy-box', 'https://gitlab.example.com', 4, undefined, undefined],
    ]);
    expect(config.warnings).toHaveLength(6);
  });

  it('lets a flag override a global setting of the file', () => {
    const config = run(['--config', write(GITLAB_RUNNER_SHELL), '--concurrency', '1', '--log-level', 'debug']);
    expect(config).toMatchObject({ concurrent: 1, logLevel: 'debug' });
    expect(config.runners.map((runner) => runner.limit)).toEqual([1, 1]);
  });

  it('refuses runner flags next to --config, and names an unreadable file', () => {
    const file = write(GITLAB_RUNNER_SHELL);
    expect(() => run(['--config', file, '--url', 'https://other'])).toThrow('--url: not with --config');
    expect(() => run(['--config', '/nonexistent/config.toml'])).toThrow(
      '--config: cannot read /nonexistent/config.toml (ENOENT)',
    );
  });
});
