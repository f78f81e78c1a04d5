import type { FlagValue } from './flag-values.js';

/** One command-line flag: how it reads, what it defaults to, and the schema of its value. */
export interface FlagSpec<T = unknown> {
  /** `string` flags take a value (`--url URL`); `boolean` flags are switches (`--once`). */
  readonly kind: 'string' | 'boolean';
  /** The placeholder shown in help (`URL`, `DUR`, `N`). */
  readonly valueName?: string;
  readonly description: string;
  /** The raw default, parsed by `value` like any other input. */
  readonly default?: string;
  /** Help text for a default computed at start-up (shown instead of `default`). */
  readonly defaultHelp?: string;
  /** Must be given (on the command line or in the environment). */
  readonly required?: boolean;
  /** Never echo the value (in errors, help or logs). */
  readonly secret?: boolean;
  /** More environment variables read after `RUNNER_CORE_<FLAG>`, in order (gitlab-runner's `CI_SERVER_URL`, …). */
  readonly envAliases?: readonly string[];
  readonly value: FlagValue<T>;
}

/** The flags of one command, keyed by camelCase name (`checkInterval` is `--check-interval`). */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

type ValueOf<S> = S extends FlagSpec<infer T> ? T : never;

/** The typed values of a flag table: flags that are required or have a default are always set. */
export type FlagValues<F extends FlagTable> = {
  readonly [K in keyof F]: F[K] extends { readonly required: true } | { readonly default: string }
    ? ValueOf<F[K]>
    : ValueOf<F[K]> | undefined;
};

/** `checkInterval` → `check-interval`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `checkInterval` → `RUNNER_CORE_CHECK_INTERVAL`. */
export function envName(key: string): string {
  return `RUNNER_CORE_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}
