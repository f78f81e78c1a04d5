const REDACTED = '[REDACTED]';

/**
 * A token or other secret value (runner token, job token, masked variable, repo URL with credentials).
 *
 * Printing, string interpolation, `JSON.stringify` and `util.inspect` all show `[REDACTED]`; only
 * {@link Secret.reveal} returns the value, so a secret reaches the wire deliberately and nowhere else.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plain value. Call it only where the secret must leave the process (a header, a body, a child env). */
  reveal(): string {
    return this.#value;
  }

  /** The short, loggable form of a runner token (see {@link shortToken}). */
  short(): string {
    return shortToken(this.#value);
  }

  /** Whether the secret holds no characters (GitLab treats an empty token as absent). */
  isEmpty(): boolean {
    return this.#value.length === 0;
  }

  equals(other: Secret | string): boolean {
    return this.#value === (typeof other === 'string' ? other : other.#value);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Wraps a plain string; a `Secret` passes through unchanged. */
export function secret(value: string | Secret): Secret {
  return value instanceof Secret ? value : new Secret(value);
}

// NOTE: the prefixes gitlab-runner strips before shortening (helpers/shorten_token.go); longest first.
const TOKEN_PREFIXES = ['glrt-t1_', 'glrt-t2_', 'glrt-t3_', 'glrtr-', 'glrt-', 'glcbt-', 't1_', 't2_', 't3_'];

/**
 * The short form of a runner token that may appear in logs: the known prefix (`glrt-`, `glrtr-`, `glcbt-`,
 * `t1_`…) is dropped and the first 9 characters are kept, as gitlab-runner does.
 */
export function shortToken(token: string): string {
  let body = token;
  const prefix = TOKEN_PREFIXES.find((candidate) => token.startsWith(candidate));
  if (prefix !== undefined) body = token.slice(prefix.length);
  else if (/^GR[0-9a-f]{7}/i.test(token)) body = token.slice(2 + 7);
  return body.slice(0, 9);
}

/**
 * Replaces every occurrence of the given secrets' values in `text` with `[REDACTED]`. Used on messages that
 * may echo a request (for example a server's error body) before they reach a log or an error.
 */
export function redact(text: string, secrets: ReadonlyArray<Secret | undefined>): string {
  let result = text;
  for (const candidate of secrets) {
    const value = candidate?.reveal();
    if (value !== undefined && value.length > 0) result = result.split(value).join(REDACTED);
  }
  return result;
}
