import {
  type Clock,
  faultDetail,
  type Network,
  type RunnerCredentials,
  type RunnerInfo,
  systemClock,
} from '@runner-core/core';

/** How long a verify may take before the start goes on without its answer. */
const VERIFY_WAIT_MS = 10_000;

/** What GitLab said of a runner token: `alive` (200), `removed` (403), or `unknown` (no answer, or another one). */
export interface Verdict {
  readonly kind: 'alive' | 'removed' | 'unknown';
  /** One line for a person: what GitLab said, or why it said nothing. */
  readonly detail: string;
}

/**
 * Asks GitLab whether it knows the runner token (`POST /api/v4/runners/verify`), as `gitlab-runner verify` does.
 * Only a 403 means the token is bad; anything else (GitLab down, an unexpected answer) tells nothing about it.
 */
export async function verifyRunner(
  network: Network,
  credentials: RunnerCredentials,
  info: RunnerInfo,
  clock: Clock = systemClock,
): Promise<Verdict> {
  const stop = new AbortController();
  try {
    // NOTE: a GitLab that does not answer must not hold the start for the client's whole timeout.
    const result = await Promise.race([
      network.verifyRunner({ credentials, info }),
      clock.sleep(VERIFY_WAIT_MS, stop.signal).then(() => undefined),
    ]);
    if (result === undefined) {
      return { kind: 'unknown', detail: `could not be verified: no answer within ${VERIFY_WAIT_MS / 1_000} s` };
    }
    switch (result.kind) {
      case 'verified':
        return { kind: 'alive', detail: 'is alive' };
      case 'forbidden':
        return {
          kind: 'removed',
          detail:
            'is removed: GitLab refused the runner token (403 Forbidden); check --token, or whether the runner was deleted',
        };
      case 'unavailable':
      case 'rate-limited':
        return {
          kind: 'unknown',
          detail: `could not be verified: GitLab answered ${result.kind === 'unavailable' ? 503 : 429}`,
        };
      case 'failed':
        return {
          kind: 'unknown',
          detail: `could not be verified: GitLab answered ${result.status} (${result.message})`,
        };
      default: {
        const unreachable: never = result;
        throw new Error(`unknown verify result ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (error) {
    return { kind: 'unknown', detail: `could not be verified: ${faultDetail(error)}` };
  } finally {
    stop.abort();
  }
}
