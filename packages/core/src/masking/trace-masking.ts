import type { TraceSink } from '../execution/executor.port.js';
import type { JobPayload } from '../job/job.types.js';

/** What replaces a masked value in the trace (gitlab-runner's spelling). */
export const MASKED = '[MASKED]';

/** A {@link TraceSink} that must be flushed when the output ends (it may hold back a few characters). */
export interface FlushableSink extends TraceSink {
  /** Writes what was held back. Call once, after the last `write`. */
  flush(): void;
}

/**
 * The values to mask in a job's trace: every masked variable and the job token. Values shorter than 4 characters
 * are skipped (GitLab refuses to mask them: they would blank out ordinary text).
 */
export function maskedValuesOf(payload: JobPayload): string[] {
  const values = new Set<string>([payload.token.reveal()]);
  for (const variable of payload.variables ?? []) {
    if (variable.masked) values.add(variable.value.reveal());
  }
  return [...values].filter((value) => value.length >= 4);
}

/**
 * Token prefixes whose tokens are masked wherever they appear, known or not: `glpat-` (always masked by
 * gitlab-runner) and its optional built-in list (docs/gitlab-protocol.md §1.6). The payload may add more
 * (`features.token_mask_prefixes`).
 */
export const DEFAULT_TOKEN_PREFIXES: readonly string[] = Object.freeze([
  'glpat-',
  'gloas-',
  'gldt-',
  'glrt-',
  'glrtr-',
  'glcbt-',
  'glptt-',
  'glft-',
  'glimt-',
  'glagent-',
  'glsoat-',
  'glffct-',
  'gltok-',
  '_gitlab_session=',
]);

/** The token prefixes to mask in a job's trace: the defaults plus the server's `features.token_mask_prefixes`. */
export function tokenPrefixesOf(payload: JobPayload): string[] {
  const fromServer = (payload.features?.token_mask_prefixes ?? []).filter(
    (prefix): prefix is string => typeof prefix === 'string' && prefix.length > 0,
  );
  return [...new Set([...DEFAULT_TOKEN_PREFIXES, ...fromServer])];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Wraps a sink so that every occurrence of `values` is replaced by `[MASKED]`, and every token after one of
 * `prefixes` by `<prefix>[MASKED]`, even when a value or token is split across writes: a tail that could be the
 * start (or the unfinished rest) of one is held back until the next write (or `flush`). Bytes are decoded as UTF-8
 * in streaming mode, so a character split across writes survives.
 */
export function maskingSink(
  target: TraceSink,
  values: readonly string[],
  prefixes: readonly string[] = DEFAULT_TOKEN_PREFIXES,
): FlushableSink {
  const secrets = [...new Set(values)].filter((value) => value.length > 0).sort((a, b) => b.length - a.length);
  const starts = [...new Set(prefixes)].filter((prefix) => prefix.length > 0);
  // A prefix followed by token characters (dots included: routable tokens have them); the prefix is kept so a
  // reader sees what kind of token was there.
  const alternatives = starts.map(escapeRegExp).join('|');
  const prefixed = starts.length === 0 ? undefined : new RegExp(`(${alternatives})[A-Za-z0-9_.-]+`, 'g');
  // The same with the token still to come: a write that ends right after a prefix must hold it back.
  const prefixedSoFar = starts.length === 0 ? undefined : new RegExp(`(${alternatives})[A-Za-z0-9_.-]*`, 'g');
  const decoder = new TextDecoder('utf-8');
  let held = '';

  const maskValues = (text: string): string => {
    let result = text;
    for (const value of secrets) result = result.split(value).join(MASKED);
    return result;
  };
  const maskPrefixed = (text: string): string =>
    prefixed === undefined ? text : text.replace(prefixed, (_token, prefix: string) => `${prefix}${MASKED}`);
  const mask = (text: string): string => maskPrefixed(maskValues(text));

  /**
   * Where the text may be written up to: before a tail that could begin a secret or a prefix, and before a prefixed
   * token that reaches that point (it may go on in the next write).
   */
  const cutPoint = (text: string): number => {
    let cut = text.length - Math.max(heldLength(text, secrets), heldLength(text, starts));
    if (prefixedSoFar === undefined) return cut;
    for (const match of text.matchAll(prefixedSoFar)) {
      if (match.index < cut && match.index + match[0].length >= cut) {
        cut = match.index;
        break;
      }
    }
    return cut;
  };

  /** Length of the longest suffix of `text` that is a proper prefix of one of `candidates`. */
  const heldLength = (text: string, candidates: readonly string[]): number => {
    let longest = 0;
    for (const value of candidates) {
      for (let length = Math.min(value.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(value.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  };

  return {
    write(chunk) {
      const text = held + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      if (secrets.length === 0 && prefixed === undefined) {
        held = '';
        if (text.length > 0) target.write(text);
        return;
      }
      const masked = maskValues(text);
      const cut = cutPoint(masked);
      held = masked.slice(cut);
      const out = maskPrefixed(masked.slice(0, cut));
      if (out.length > 0) target.write(out);
    },
    flush() {
      const rest = mask(held + decoder.decode());
      held = '';
      if (rest.length > 0) target.write(rest);
    },
  };
}

/** `text` with `values` and prefixed tokens masked as {@link maskingSink} masks a trace (for a log line or a message). */
export function maskText(
  text: string,
  values: readonly string[],
  prefixes: readonly string[] = DEFAULT_TOKEN_PREFIXES,
): string {
  let out = '';
  const sink = maskingSink({ write: (chunk) => (out += String(chunk)) }, values, prefixes);
  sink.write(text);
  sink.flush();
  return out;
}
