import type { JobCredentials, JobPayload } from '../job/job.types.js';
import type {
  PatchTraceResult,
  RequestJobResult,
  RunnerStatusResult,
  UpdateJobResult,
} from '../network/network.types.js';
import type { RunnerCredentials } from '../network/runner-info.js';
import { Secret } from '../secret/secret.js';
import { decodeJobPayload, type WireJobPayload } from '../wire/job-payload-decoding.js';

// Object mothers for tests in every package. Values are deterministic (counters, no randomness) so a failing
// test prints the same thing twice; tokens look like GitLab's so prefix handling is exercised.

let sequence = 0;
const next = (): number => {
  sequence += 1;
  return sequence;
};

/** A job token shaped like GitLab's (`glcbt-` + 20 characters); a new one on every call. */
export function aJobToken(): string {
  return `glcbt-${`jobtoken${next()}`.padEnd(20, 'x')}`;
}

/** A runner authentication token shaped like GitLab's (`glrt-` + 20 characters); a new one on every call. */
export function aRunnerToken(): string {
  return `glrt-${`runnertoken${next()}`.padEnd(20, 'x')}`;
}

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
  const id = fields.id ?? next();
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

/** A decoded {@link JobPayload} (secrets wrapped) built from {@link aWireJob}, then `overrides`. */
export function aJobPayload(overrides: Partial<JobPayload> & { readonly spec?: JobSpec } = {}): JobPayload {
  const { spec, ...fields } = overrides;
  const wire = aWireJob({
    ...spec,
    ...(fields.id !== undefined ? { id: fields.id } : {}),
    ...(fields.token !== undefined ? { token: fields.token.reveal() } : {}),
  });
  return { ...decodeJobPayload(wire), ...fields };
}

/** A job's id and job token. */
export function jobCredentials(overrides: Partial<JobCredentials> = {}): JobCredentials {
  return { id: overrides.id ?? next(), token: overrides.token ?? new Secret(aJobToken()) };
}

/** A runner's token and system id (`s_` + 12 hex). */
export function runnerCredentials(overrides: Partial<RunnerCredentials> = {}): RunnerCredentials {
  return { token: overrides.token ?? new Secret(aRunnerToken()), systemId: overrides.systemId ?? 's_0123456789ab' };
}

type Variant<Union, Kind> = Extract<Union, { readonly kind: Kind }>;
/** The fields a builder takes: everything of the variant but its `kind`, all optional. */
type Fields<Union, Kind> = Partial<Omit<Variant<Union, Kind>, 'kind'>>;

/**
 * An {@link UpdateJobResult} of the given kind, for stubs (`satisfies Network`). Defaults: `cancelRequested:
 * false`; `aborted` → reason `forbidden`; `retryable` → status 503; `failed` → status 500.
 */
export function anUpdateResult<K extends UpdateJobResult['kind']>(
  kind: K,
  fields: Fields<UpdateJobResult, K> = {},
): Variant<UpdateJobResult, K> {
  const defaults = { cancelRequested: false, ...kindDefaults(kind) };
  return { ...defaults, ...fields, kind } as Variant<UpdateJobResult, K>;
}

/** A {@link RunnerStatusResult} of the given kind (defaults as {@link anUpdateResult}). */
export function aRunnerStatusResult<K extends RunnerStatusResult['kind']>(
  kind: K,
  fields: Fields<RunnerStatusResult, K> = {},
): Variant<RunnerStatusResult, K> {
  const defaults = { cancelRequested: false, ...kindDefaults(kind) };
  return { ...defaults, ...fields, kind } as Variant<RunnerStatusResult, K>;
}

/**
 * A {@link PatchTraceResult} of the given kind. Defaults: `cancelRequested: false`; `succeeded` and
 * `range-mismatch` → offset 0; `retryable` → status 503; `failed` → status 500.
 */
export function aPatchTraceResult<K extends PatchTraceResult['kind']>(
  kind: K,
  fields: Fields<PatchTraceResult, K> = {},
): Variant<PatchTraceResult, K> {
  const defaults = {
    cancelRequested: false,
    ...(kind === 'succeeded' || kind === 'range-mismatch' ? { offset: 0 } : kindDefaults(kind)),
  };
  return { ...defaults, ...fields, kind } as Variant<PatchTraceResult, K>;
}

/**
 * A {@link RequestJobResult} of the given kind. Defaults: `job` → {@link aJobPayload}; `failed` → status 500
 * with message `500 Internal Server Error`.
 */
export function aRequestJobResult<K extends RequestJobResult['kind']>(
  kind: K,
  fields: Fields<RequestJobResult, K> = {},
): Variant<RequestJobResult, K> {
  const defaults =
    kind === 'job'
      ? { job: aJobPayload() }
      : kind === 'failed'
        ? { status: 500, message: '500 Internal Server Error' }
        : {};
  return { ...defaults, ...fields, kind } as Variant<RequestJobResult, K>;
}

function kindDefaults(kind: string): Record<string, unknown> {
  switch (kind) {
    case 'aborted':
      return { reason: 'forbidden' };
    case 'retryable':
      return { status: 503 };
    case 'failed':
      return { status: 500 };
    default:
      return {};
  }
}
