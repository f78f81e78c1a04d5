import { readFileSync } from 'node:fs';
import { Secret } from '@runner-core/core';
import { parse, TomlError } from 'smol-toml';
import { LOG_LEVELS, type LogLevel } from './app-config.js';
import { ConfigError } from './read-flags.js';

/*
 * The part of gitlab-runner's `config.toml` that applies to runner-core (docs/operations.md): an operator's file
 * written for gitlab-runner's shell executor runs as it is. A key runner-core does not know is warned about by name
 * and line, and ignored; a known key of the wrong type is an error naming the key and the line.
 */

/** One `[[runners]]` entry. */
export interface ConfigFileRunner {
  readonly name: string;
  readonly url: string;
  readonly token: Secret;
  readonly executor: 'shell';
  /** Jobs this runner handles at once; `0` is no limit of its own. */
  readonly limit: number;
  /** Job requests in flight at once; runner-core sends one at a time (a larger value is warned about). */
  readonly requestConcurrency: number;
  /** The job log's size limit, in bytes (`output_limit` is in KiB). */
  readonly outputLimitBytes?: number;
  readonly tlsCaFile?: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly buildsDir?: string;
}

/** What a `config.toml` says. */
export interface ConfigFile {
  /** Jobs the process handles at once, over all runners. @default 1 (gitlab-runner's default) */
  readonly concurrent: number;
  /** Time between job requests, in milliseconds; `check_interval = 0` means gitlab-runner's default of 3 s. */
  readonly checkIntervalMs?: number;
  /** How long a graceful stop may take before jobs are aborted, in milliseconds. */
  readonly shutdownTimeoutMs?: number;
  /** `HOST:PORT` of the metrics and health endpoints. */
  readonly listenAddress?: string;
  readonly logLevel?: LogLevel;
  readonly runners: readonly ConfigFileRunner[];
  /** One line per key that was ignored, naming it and its line. */
  readonly warnings: readonly string[];
}

const GLOBAL_KEYS = new Set([
  'concurrent',
  'check_interval',
  'shutdown_timeout',
  'listen_address',
  'log_level',
  'runners',
]);
const RUNNER_KEYS = new Set([
  'name',
  'url',
  'token',
  'executor',
  'limit',
  'request_concurrency',
  'output_limit',
  'tls-ca-file',
  'tls-cert-file',
  'tls-key-file',
  'builds_dir',
]);
/** gitlab-runner's (logrus') names of log levels that pino spells otherwise; `panic` is its most severe. */
const TOML_LOG_LEVELS: Readonly<Record<string, LogLevel>> = { panic: 'fatal', warning: 'warn' };

/**
 * Reads and checks a gitlab-runner `config.toml`.
 * @throws {ConfigError} one line naming the file, the line and the key: unreadable file, TOML syntax, a known key of
 *   the wrong type, a runner without `url` or `token`, an executor other than `shell`
 */
export function readConfigFile(path: string): ConfigFile {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`--config: cannot read ${path}${code === undefined ? '' : ` (${code})`}`);
  }
  return parseConfigFile(source, path);
}

/** {@link readConfigFile} on text already read; `file` names it in messages. */
export function parseConfigFile(source: string, file: string): ConfigFile {
  let document: Record<string, unknown>;
  try {
    document = parse(source) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
      throw new ConfigError(`${file}:${error.line}:${error.column}: ${reason}`);
    }
    throw error;
  }
  const lines = keyLines(source);
  const at = (path: string): string => {
    const line = lines.get(path);
    return line === undefined ? `${file}: ${path}` : `${file}:${line}: ${path}`;
  };
  const read = new Reader(at);
  const warnings: string[] = [];
  for (const key of Object.keys(document)) {
    if (!GLOBAL_KEYS.has(key)) warnings.push(`${at(key)}: not used by runner-core (ignored)`);
  }

  const rawRunners = document.runners;
  if (rawRunners !== undefined && !Array.isArray(rawRunners))
    throw new ConfigError(`${at('runners')}: expected [[runners]] tables`);
  const runners = (rawRunners ?? []).map((entry: unknown, index): ConfigFileRunner => {
    const prefix = `runners[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${at(prefix)}: expected a table`);
    const table = entry as Record<string, unknown>;
    for (const key of Object.keys(table)) {
      if (!RUNNER_KEYS.has(key)) warnings.push(`${at(`${prefix}.${key}`)}: not used by runner-core (ignored)`);
    }
    const key = (name: string) => `${prefix}.${name}`;
    const executor = read.text(table, key('executor')) ?? 'shell';
    if (executor !== 'shell') {
      throw new ConfigError(`${at(key('executor'))}: runner-core runs the shell executor only, got "${executor}"`);
    }
    const url = read.text(table, key('url'));
    if (url === undefined) throw new ConfigError(`${at(prefix)}: url is required`);
    const token = read.text(table, key('token'), { secret: true });
    if (token === undefined) throw new ConfigError(`${at(prefix)}: token is required`);
    const requestConcurrency = read.integer(table, key('request_concurrency'), 1) ?? 1;
    if (requestConcurrency > 1) {
      warnings.push(
        `${at(key('request_concurrency'))}: runner-core sends one job request at a time (${requestConcurrency} ignored)`,
      );
    }
    const outputLimit = read.integer(table, key('output_limit'), 1);
    const optional = (name: string, value: string | undefined) => (value === undefined ? {} : { [name]: value });
    return {
      name: read.text(table, key('name')) ?? `runner-${index + 1}`,
      url,
      token: new Secret(token),
      executor: 'shell',
      limit: read.integer(table, key('limit'), 0) ?? 0,
      requestConcurrency,
      ...(outputLimit === undefined ? {} : { outputLimitBytes: outputLimit * 1024 }),
      ...optional('tlsCaFile', read.text(table, key('tls-ca-file'))),
      ...optional('tlsCertFile', read.text(table, key('tls-cert-file'))),
      ...optional('tlsKeyFile', read.text(table, key('tls-key-file'))),
      ...optional('buildsDir', read.text(table, key('builds_dir'))),
    };
  });
  if (runners.length === 0) throw new ConfigError(`${file}: no [[runners]] to run`);

  const checkInterval = read.integer(document, 'check_interval', 0);
  const shutdownTimeout = read.integer(document, 'shutdown_timeout', 0);
  const listenAddress = read.text(document, 'listen_address');
  const logLevel = read.text(document, 'log_level');
  const level = logLevel === undefined ? undefined : (TOML_LOG_LEVELS[logLevel] ?? logLevel);
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${at('log_level')}: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    concurrent: read.integer(document, 'concurrent', 1) ?? 1,
    ...(checkInterval === undefined || checkInterval === 0 ? {} : { checkIntervalMs: checkInterval * 1_000 }),
    ...(shutdownTimeout === undefined || shutdownTimeout === 0 ? {} : { shutdownTimeoutMs: shutdownTimeout * 1_000 }),
    ...(listenAddress === undefined ? {} : { listenAddress }),
    ...(level === undefined ? {} : { logLevel: level as LogLevel }),
    runners,
    warnings,
  };
}

/** Reads typed values, naming key and line when one has the wrong type (never echoing a secret). */
class Reader {
  readonly #at: (path: string) => string;

  constructor(at: (path: string) => string) {
    this.#at = at;
  }

  text(table: Record<string, unknown>, path: string, options: { secret?: boolean } = {}): string | undefined {
    const value = table[lastKey(path)];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      const shown = options.secret === true ? '' : `, got ${describe(value)}`;
      throw new ConfigError(`${this.#at(path)}: expected a non-empty string${shown}`);
    }
    return value;
  }

  integer(table: Record<string, unknown>, path: string, min: number): number | undefined {
    const value = table[lastKey(path)];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new ConfigError(`${this.#at(path)}: expected an integer of at least ${min}, got ${describe(value)}`);
    }
    return value;
  }
}

const lastKey = (path: string): string => path.slice(path.lastIndexOf('.') + 1);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a table';
}

/**
 * The line of each key and table header, by path (`concurrent`, `runners[1].limit`, `runners[0].docker`): enough to
 * point at a problem; a key TOML spells in a way this does not follow (a dotted key) just goes without a line.
 */
function keyLines(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  let table = '';
  let runner = -1;
  source.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    const header = /^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(line);
    if (header !== null) {
      const name = header[1] ?? '';
      if (line.startsWith('[[') && name === 'runners') {
        runner += 1;
        table = `runners[${runner}]`;
      } else if (name.startsWith('runners.') && runner >= 0) {
        table = `runners[${runner}].${name.slice('runners.'.length).split('.')[0]}`;
      } else {
        table = name.split('.')[0] ?? name;
      }
      if (!lines.has(table)) lines.set(table, number);
      return;
    }
    const key = /^("?)([A-Za-z0-9_-]+)\1\s*=/.exec(line)?.[2];
    if (key === undefined) return;
    const path = table === '' ? key : `${table}.${key}`;
    if (!lines.has(path)) lines.set(path, number);
  });
  return lines;
}
