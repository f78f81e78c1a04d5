import { parseArgs } from 'node:util';
import { z } from 'zod';
import { envName, type FlagTable, type FlagValues, flagName } from './flag-spec.js';

/** The process environment, or any map of variables (tests pass their own). */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * A configuration mistake: bad value, unknown flag, missing flag. `message` is one line naming the flag or the
 * environment variable; the CLI prints it after `runner-core: ` and exits with code 2, without a stack trace.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Where a raw value came from, as named in error messages. */
type Source = { readonly kind: 'flag' | 'env' | 'default'; readonly name: string };

/** The outcome of reading a command's flags: `--help` was asked for, or the parsed values. */
export type FlagReading<F extends FlagTable> =
  | { readonly kind: 'help' }
  | { readonly kind: 'values'; readonly values: FlagValues<F> };

/**
 * Reads a command's flags: command line first, then `RUNNER_CORE_<FLAG>` environment variables, then defaults;
 * validates them all with one zod schema built from the table.
 *
 * @param crossCheck refinements that involve several flags; each returns `[key, message]` for the first problem.
 * @throws {ConfigError} one line naming the offending flag or variable.
 */
export function readFlags<F extends FlagTable>(
  command: string,
  table: F,
  argv: readonly string[],
  env: Environment,
  crossCheck: (values: FlagValues<F>) => readonly [key: keyof F & string, message: string] | undefined = () =>
    undefined,
): FlagReading<F> {
  const fromCommandLine = readCommandLine(command, table, argv);
  if (fromCommandLine === 'help') return { kind: 'help' };

  const raw: Record<string, string> = {};
  const sources: Record<string, Source> = {};
  for (const [key, spec] of Object.entries(table)) {
    const given = fromCommandLine.get(key);
    const variable = envName(key);
    // NOTE: RUNNER_CORE_<FLAG> first, then gitlab-runner's names for the same setting.
    const fromEnv = [variable, ...(spec.envAliases ?? [])]
      .map((name) => ({ name, value: env[name] }))
      .find((candidate) => candidate.value !== undefined && candidate.value !== '');
    if (given !== undefined) {
      raw[key] = given;
      sources[key] = { kind: 'flag', name: `--${flagName(key)}` };
    } else if (fromEnv?.value !== undefined) {
      raw[key] = fromEnv.value;
      sources[key] = { kind: 'env', name: fromEnv.name };
    } else if (spec.default !== undefined) {
      raw[key] = spec.default;
      sources[key] = { kind: 'default', name: `--${flagName(key)}` };
    } else if (spec.required === true) {
      throw new ConfigError(`--${flagName(key)}: required (or set ${variable})`);
    }
  }

  const shape: Record<string, z.ZodType<unknown, string | undefined>> = {};
  for (const [key, spec] of Object.entries(table))
    shape[key] = raw[key] === undefined ? spec.value.optional() : spec.value;
  const parsed = z.object(shape).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const spec = table[key];
    const source = sources[key] ?? { kind: 'flag', name: `--${flagName(key)}` };
    const shown = spec?.secret === true || raw[key] === undefined ? '' : `, got ${JSON.stringify(raw[key])}`;
    const label = source.kind === 'default' ? `${source.name} (default)` : source.name;
    throw new ConfigError(`${label}: ${issue?.message ?? 'invalid value'}${shown}`);
  }
  const values = parsed.data as FlagValues<F>;
  const problem = crossCheck(values);
  if (problem !== undefined) {
    const [key, message] = problem;
    throw new ConfigError(`${sources[key]?.name ?? `--${flagName(key)}`}: ${message}`);
  }
  return { kind: 'values', values };
}

/**
 * The flags given on the command line, by key. `parseArgs` runs non-strict with tokens so that every mistake
 * gets a message naming the flag (its own messages are long and generic).
 */
function readCommandLine(command: string, table: FlagTable, argv: readonly string[]): Map<string, string> | 'help' {
  const byName = new Map<string, string>();
  for (const key of Object.keys(table)) byName.set(flagName(key), key);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [key, spec] of Object.entries(table)) options[flagName(key)] = { type: spec.kind };

  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const given = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new ConfigError(`unexpected argument ${JSON.stringify(token.value)} for "${command}"`);
    }
    if (token.kind === 'option-terminator') continue;
    if (token.name === 'help') return 'help';
    const key = byName.get(token.name);
    const spec = key === undefined ? undefined : table[key];
    if (key === undefined || spec === undefined) {
      const near = closest(token.name, [...byName.keys()]);
      const hint = near === undefined ? `see runner-core ${command} --help` : `did you mean --${near}?`;
      throw new ConfigError(`${token.rawName}: unknown flag for "${command}" (${hint})`);
    }
    if (spec.kind === 'boolean') {
      if (token.inlineValue === true) {
        throw new ConfigError(`${token.rawName}: takes no value, got ${JSON.stringify(token.value ?? '')}`);
      }
      given.set(key, 'true');
    } else {
      // NOTE: non-strict parseArgs takes the next argument as the value even when it is a flag (`--url --once`); a
      // negative number is a value, which its flag then refuses with a reason (`--concurrency -1`).
      const looksLikeFlag = token.value?.startsWith('-') === true && !/^-\d/.test(token.value);
      if (token.value === undefined || (token.inlineValue !== true && looksLikeFlag)) {
        throw new ConfigError(
          `${token.rawName}: expected a value (write ${token.rawName}=VALUE for a value starting with "-")`,
        );
      }
      given.set(key, token.value);
    }
  }
  return given;
}

/** The candidate nearest to `word` (edit distance at most 2, or a prefix), for a "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = candidate.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
