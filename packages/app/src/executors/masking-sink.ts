import type { JobPayload, TraceSink } from '@runner-core/core';

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
 * Wraps a sink so that every occurrence of `values` is replaced by `[MASKED]`, even when a value is split
 * across writes: the tail that could be the start of a value is held back until the next write (or `flush`).
 * Bytes are decoded as UTF-8 in streaming mode, so a character split across writes survives.
 */
export function maskingSink(target: TraceSink, values: readonly string[]): FlushableSink {
  const secrets = [...new Set(values)].filter((value) => value.length > 0).sort((a, b) => b.length - a.length);
  const decoder = new TextDecoder('utf-8');
  let held = '';

  const mask = (text: string): string => {
    let result = text;
    for (const value of secrets) result = result.split(value).join(MASKED);
    return result;
  };

  /** Length of the longest suffix of `text` that is a proper prefix of some secret. */
  const heldLength = (text: string): number => {
    let longest = 0;
    for (const value of secrets) {
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
      if (secrets.length === 0) {
        held = '';
        if (text.length > 0) target.write(text);
        return;
      }
      const masked = mask(text);
      const keep = heldLength(masked);
      held = masked.slice(masked.length - keep);
      const out = masked.slice(0, masked.length - keep);
      if (out.length > 0) target.write(out);
    },
    flush() {
      const rest = mask(held + decoder.decode());
      held = '';
      if (rest.length > 0) target.write(rest);
    },
  };
}
