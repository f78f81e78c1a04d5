import type { WireRequest, WireResponse } from './wire-message.js';

/**
 * Moves one encoded runner API request to GitLab and its answer back: the only part of a `Network` adapter that is
 * not shared. `RunnerApiClient` does the rest (encoding, classification, payload decoding, redaction), so every
 * adapter speaks the protocol the same way.
 *
 * Contract:
 * - one `send` is one request (redirects the transport follows count as one); no retries;
 * - every HTTP status is an answer, never an error;
 * - no answer (DNS, refused, reset, timeout, abort, a body over `request.maxResponseBytes`) throws a
 *   `NetworkError`: `TransportError` with `sent: false` only when the request certainly did not leave,
 *   `ResponseTooLargeError` for an oversized body, `UnexpectedStatusError` for a redirect it refuses,
 *   `ClientConfigError` when it cannot be used as configured;
 * - no secret of `request.secrets` appears in what it throws or logs.
 */
export interface WireTransport {
  send(request: WireRequest): Promise<WireResponse>;
  /** Frees what the transport holds (kept-alive sockets). Calls made afterwards may open new ones. */
  close(): Promise<void>;
}
