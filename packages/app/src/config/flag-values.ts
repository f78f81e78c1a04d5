import { Secret } from '@runner-core/core';
import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The zod schemas of flag values. Each one takes the raw text of a flag (or of its environment variable, or its
 * default) and yields the typed value; its error message completes the sentence `--flag: <message>, got "<raw>"`.
 */

/** A flag value: raw text in, typed value out. */
export type FlagValue<T> = z.ZodType<T, string>;

/** A whole number ≥ `min` (and ≤ `max`), e.g. `--concurrency`, `--port`. */
export function integerValue(min: number, max = Number.MAX_SAFE_INTEGER): FlagValue<number> {
  const expected =
    min === 1 && max === Number.MAX_SAFE_INTEGER
      ? 'expected a positive integer'
      : min === 0 && max === Number.MAX_SAFE_INTEGER
        ? 'expected a non-negative integer'
        : `expected an integer from ${min} to ${max}`;
  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return value;
  });
}

/** A duration (`500ms`, `30s`, `2m`) in milliseconds, at least `minMs`. */
export function durationValue(minMs = 1): FlagValue<number> {
  return z.string().transform((raw, ctx) => {
    const ms = parseDuration(raw);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 30s or 2m' });
      return z.NEVER;
    }
    if (ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least ${minMs}ms` });
      return z.NEVER;
    }
    return ms;
  });
}

/** One of a fixed set of words (`--strategy auto|state-put|runner-status`). */
export function choiceValue<const T extends string>(choices: readonly T[]): FlagValue<T> {
  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    if (!(choices as readonly string[]).includes(text)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${choices.join(', ')}` });
      return z.NEVER;
    }
    return text as T;
  });
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** A switch: given on the command line it is `true`; from the environment `true/1/yes/on` or `false/0/no/off`. */
export const booleanValue: FlagValue<boolean> = z.string().transform((raw, ctx) => {
  const text = raw.trim().toLowerCase();
  if (TRUE_WORDS.includes(text)) return true;
  if (FALSE_WORDS.includes(text)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false' });
  return z.NEVER;
});

/**
 * GitLab's URL as runner-core needs it: the instance, not its API. A URL ending in `/api/v4` (a common slip, which
 * gitlab-runner turns into requests to `/api/v4/api/v4/…` and a silent 404) is cut back to the instance.
 */
export function instanceUrl(text: string): string {
  return text
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api\/v4$/, '');
}

/** An `http:` or `https:` URL (the GitLab instance; a trailing `/api/v4` is dropped, see {@link instanceUrl}). */
export const httpUrlValue: FlagValue<string> = z.string().transform((raw, ctx) => {
  const text = instanceUrl(raw);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({ code: 'custom', message: 'expected an http(s) URL such as https://gitlab.example.com' });
    return z.NEVER;
  }
  if (url.username !== '' || url.password !== '') {
    // NOTE: credentials in the URL would end up in logs; tokens have their own flags.
    ctx.addIssue({ code: 'custom', message: 'expected a URL without user name or password' });
    return z.NEVER;
  }
  return text;
});

/** A token: non-empty, wrapped in a {@link Secret} at once so it cannot be printed by accident. */
export const secretValue: FlagValue<Secret> = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  if (text.length === 0 || /\s/.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'expected a non-empty token without spaces' });
    return z.NEVER;
  }
  return new Secret(text);
});

/** Any non-empty text (a command line, a file path). */
export const textValue: FlagValue<string> = z.string().transform((raw, ctx) => {
  if (raw.trim().length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a non-empty value' });
    return z.NEVER;
  }
  return raw;
});

/** A runner-manager id (`system_id`): letters, digits, `_` and `-`, at most 64 characters. */
export const systemIdValue: FlagValue<string> = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'expected 1 to 64 letters, digits, "_" or "-" (e.g. s_0123456789ab)' });
    return z.NEVER;
  }
  return text;
});

/** `HOST:PORT` to listen on (`--listen-address`, gitlab-runner's `listen_address`); `:9252` is every interface. */
export const listenAddressValue: FlagValue<{ readonly host: string; readonly port: number }> = z
  .string()
  .transform((raw, ctx) => {
    const match = /^(?<host>\[[0-9a-fA-F:.]+\]|[^:\s]*):(?<port>\d{1,5})$/.exec(raw.trim());
    const port = Number(match?.groups?.port);
    if (match === null || !Number.isInteger(port) || port > 65_535) {
      ctx.addIssue({ code: 'custom', message: 'expected HOST:PORT such as 127.0.0.1:9252 or :9252' });
      return z.NEVER;
    }
    const host = (match.groups?.host ?? '').replace(/^\[|\]$/g, '');
    return { host: host === '' ? '0.0.0.0' : host, port };
  });
