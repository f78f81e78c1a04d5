import { describe, expect, it } from 'vitest';
import { failureReasonFor } from './failure-reasons.js';

describe('failureReasonFor (docs/gitlab-protocol.md §11 A6)', () => {
  const listed = { features: { failure_reasons: ['unknown_failure', 'script_failure', 'runner_system_failure'] } };

  it('keeps a reason the job’s GitLab lists', () => {
    expect(failureReasonFor('script_failure', listed)).toBe('script_failure');
  });

  it('turns a reason it does not list into unknown_failure', () => {
    expect(failureReasonFor('job_execution_timeout', listed)).toBe('unknown_failure');
    expect(failureReasonFor('job_canceled', listed)).toBe('unknown_failure');
  });

  it('keeps any reason when the payload lists none (an older GitLab)', () => {
    expect(failureReasonFor('job_execution_timeout', {})).toBe('job_execution_timeout');
    expect(failureReasonFor('job_execution_timeout', { features: { failure_reasons: [] } })).toBe(
      'job_execution_timeout',
    );
  });
});
