import { faultDetail, type Network, type RunnerCredentials, type RunnerInfo } from '@runner-core/core';

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
): Promise<Verdict> {
  try {
    const result = await network.verifyRunner({ credentials, info });
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
  }
}
