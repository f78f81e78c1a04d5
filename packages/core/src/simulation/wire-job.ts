import type { WireJobPayload } from '../wire/job-payload-decoding.js';
import { aJobToken, nextSequence } from './sequence.js';

// The job payloads a simulated GitLab hands out: shaped like GitLab's, deterministic (a shared counter, no
// randomness) so a failing test prints the same thing twice; tokens look like GitLab's so prefix handling is
// exercised.

/** A CI/CD variable as GitLab sends it in the job payload. */
export interface WireVariable {
  readonly key: string;
  readonly value: string;
  readonly public?: boolean;
  readonly file?: boolean;
  readonly masked?: boolean;
  readonly raw?: boolean;
}

/**
 * What a test says about a job it wants; everything else takes the defaults of {@link aWireJob}.
 */
export interface JobSpec {
  /** `job_info.name`. @default 'build' */
  readonly name?: string;
  /** `job_info.stage`. @default 'test' */
  readonly stage?: string;
  /** The lines of the `script` step. @default ['echo hello'] */
  readonly script?: readonly string[];
  /** The lines of an `after_script` step (`when: always`, as GitLab sends it). @default none */
  readonly afterScript?: readonly string[];
  /**
   * The job's variables. @default CI_JOB_ID, CI_JOB_TOKEN (masked, the job token) and DEPLOY_PASSWORD (masked)
   */
  readonly variables?: readonly WireVariable[];
  /** Merged over the default `features` (`trace_sections`, `failure_reasons`). */
  readonly features?: Readonly<Record<string, unknown>>;
  /** `runner_info.timeout`, seconds. @default 3600 */
  readonly timeoutSeconds?: number;
  /** Extra top-level payload fields, merged last (they may replace any default). */
  readonly payload?: Readonly<Record<string, unknown>>;
}

/** The failure reasons the default payload announces (`features.failure_reasons`). */
export const defaultFailureReasons: readonly string[] = Object.freeze([
  'unknown_failure',
  'script_failure',
  'api_failure',
  'stuck_or_timeout_failure',
  'runner_system_failure',
  'missing_dependency_failure',
  'runner_unsupported',
  'job_execution_timeout',
  'runner_provisioning_timeout',
]);

/** The plain value of the masked `DEPLOY_PASSWORD` variable of the default payload (to test masking). */
export const defaultMaskedValue = 'hunter2-deploy-password';

/**
 * A job payload as GitLab's 201 body carries it (plain strings, tokens included): shaped like gitlab-protocol
 * §3.2, with `git_info.repo_url` embedding the job token and masked variables, so redaction can be tested.
 */
export function aWireJob(fields: JobSpec & { readonly id?: number; readonly token?: string } = {}): WireJobPayload {
  const id = fields.id ?? nextSequence();
  const token = fields.token ?? aJobToken();
  const timeout = fields.timeoutSeconds ?? 3600;
  const variables = fields.variables ?? [
    { key: 'CI_JOB_ID', value: String(id), public: true, file: false, masked: false, raw: false },
    { key: 'CI_JOB_TOKEN', value: token, public: false, file: false, masked: true, raw: false },
    { key: 'DEPLOY_PASSWORD', value: defaultMaskedValue, public: false, file: false, masked: true, raw: false },
  ];
  return {
    id,
    token,
    allow_git_fetch: true,
    job_info: {
      name: fields.name ?? 'build',
      stage: fields.stage ?? 'test',
      pipeline_id: 900,
      project_id: 17,
      project_name: 'demo',
      project_full_path: 'acme/demo',
      namespace_id: 5,
      root_namespace_id: 5,
      organization_id: 1,
      user_id: 3,
      scoped_user_id: null,
      time_in_queue_seconds: 0,
      project_jobs_running_on_instance_runners_count: '0',
      queue_size: 0,
      queue_depth: 0,
    },
    git_info: {
      repo_url: `https://gitlab-ci-token:${token}@gitlab.example.com/acme/demo.git`,
      repo_object_format: 'sha1',
      ref: 'main',
      sha: '1f0c2a9e5b7d3c1a0f9e8d7c6b5a4f3e2d1c0b9a',
      before_sha: '0000000000000000000000000000000000000000',
      ref_type: 'branch',
      refspecs: ['+refs/heads/main:refs/remotes/origin/main'],
      depth: 20,
      protected: true,
    },
    runner_info: { timeout, runner_session_url: null },
    variables,
    steps: [
      {
        name: 'script',
        script: [...(fields.script ?? ['echo hello'])],
        timeout,
        when: 'on_success',
        allow_failure: false,
      },
      ...(fields.afterScript === undefined
        ? []
        : [{ name: 'after_script', script: [...fields.afterScript], timeout, when: 'always', allow_failure: true }]),
    ],
    image: null,
    services: [],
    artifacts: [],
    cache: [],
    credentials: [],
    dependencies: [],
    features: { trace_sections: true, failure_reasons: [...defaultFailureReasons], ...fields.features },
    ...fields.payload,
  };
}
