import { randomInt } from 'node:crypto';
import { type ServerProfile, serverProfiles } from '@runner-core/core/simulation';

/** What one `pnpm soak` run does. */
export interface SoakOptions {
  /** Seeds every stream of chance; printed first, so a failure can be replayed with `--seed N`. */
  readonly seed: number;
  /** Jobs enqueued per server profile (retry copies of lapsed jobs come on top). */
  readonly jobs: number;
  readonly ci: boolean;
  /** Print one JSON object as the last line. */
  readonly json: boolean;
  readonly profiles: readonly ServerProfile[];
  /** Jobs the runner handles at once. */
  readonly concurrency: number;
  /** Job ids to explain in full after the run (`--explain 12,40`). */
  readonly explain: readonly number[];
}

export const FULL_JOBS = 10_000;
export const CI_JOBS = 1_000;
export const DEFAULT_CONCURRENCY = 8;

const usage =
  'usage: pnpm soak [--seed N] [--jobs N] [--ci] [--json] [--profile legacy,two-phase,runner-status] [--concurrency N] [--explain ID,…]';

/**
 * Reads `--seed N`, `--jobs N`, `--ci` (1,000 jobs per profile unless `--jobs` says otherwise), `--json`,
 * `--profile a,b` and `--concurrency N`, each also as `--flag=value`. Anything else is an error rather than ignored,
 * so a mistyped seed never silently runs a different soak.
 */
export function readSoakOptions(argv: readonly string[]): SoakOptions {
  let seed: number | undefined;
  let jobs: number | undefined;
  let ci = false;
  let json = false;
  let profiles: readonly ServerProfile[] = serverProfiles;
  let concurrency = DEFAULT_CONCURRENCY;
  let explain: number[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg) : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      index += 1;
      const next = argv[index];
      if (next === undefined) throw new Error(`soak: ${flag} needs a value\n${usage}`);
      return next;
    };
    switch (flag) {
      case '--seed':
        seed = integer(flag, value(), 0);
        break;
      case '--jobs':
        jobs = integer(flag, value(), 1);
        break;
      case '--concurrency':
        concurrency = integer(flag, value(), 1);
        break;
      case '--explain':
        explain = value()
          .split(',')
          .map((id) => integer(flag, id, 1));
        break;
      case '--ci':
        ci = true;
        break;
      case '--json':
        json = true;
        break;
      case '--profile':
        profiles = profileList(value());
        break;
      // pnpm forwards a lone `--` when arguments are written `pnpm soak -- --seed 7`.
      case '--':
        break;
      default:
        throw new Error(`soak: unknown argument ${arg}\n${usage}`);
    }
  }
  return {
    seed: seed ?? randomInt(0, 2 ** 31 - 1),
    jobs: jobs ?? (ci ? CI_JOBS : FULL_JOBS),
    ci,
    json,
    profiles,
    concurrency,
    explain,
  };
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf('=');
  return [arg.slice(0, at), arg.slice(at + 1)];
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > 2 ** 32 - 1) {
    throw new Error(`soak: ${flag} ${text}: expected an integer from ${min} to ${2 ** 32 - 1}`);
  }
  return value;
}

function profileList(text: string): ServerProfile[] {
  const chosen: ServerProfile[] = [];
  for (const name of text.split(',')) {
    const profile = serverProfiles.find((candidate) => candidate === name);
    if (profile === undefined)
      throw new Error(`soak: --profile: unknown profile ${name} (${serverProfiles.join(', ')})`);
    if (!chosen.includes(profile)) chosen.push(profile);
  }
  return chosen;
}
