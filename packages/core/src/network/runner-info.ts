import type { Secret } from '../secret/secret.js';

/** How this runner authenticates to GitLab's runner API. */
export interface RunnerCredentials {
  /** The runner authentication token (`glrt-…`), sent as `RUNNER-TOKEN` and as body `token`. */
  readonly token: Secret;
  /** The runner-manager id (`system_id`): `s_` + 12 hex or `r_` + 12 alphanumerics. */
  readonly systemId: string;
}

/**
 * `info.features`: every key gitlab-runner serialises, in its order (docs/gitlab-protocol.md §2.2). Always sent whole,
 * `false` included. `two_phase_job_commit` is `true` by type: this core always advertises job confirmation.
 */
export interface RunnerFeatures {
  readonly variables: boolean;
  readonly image: boolean;
  readonly services: boolean;
  readonly artifacts: boolean;
  readonly cache: boolean;
  readonly fallback_cache_keys: boolean;
  readonly shared: boolean;
  readonly upload_multiple_artifacts: boolean;
  readonly upload_raw_artifacts: boolean;
  readonly session: boolean;
  readonly terminal: boolean;
  readonly refspecs: boolean;
  readonly masking: boolean;
  readonly proxy: boolean;
  readonly raw_variables: boolean;
  readonly artifacts_exclude: boolean;
  readonly multi_build_steps: boolean;
  readonly trace_reset: boolean;
  readonly trace_checksum: boolean;
  readonly trace_size: boolean;
  readonly vault_secrets: boolean;
  readonly cancelable: boolean;
  readonly return_exit_code: boolean;
  readonly service_variables: boolean;
  readonly service_multiple_aliases: boolean;
  readonly image_executor_opts: boolean;
  readonly service_executor_opts: boolean;
  readonly cancel_gracefully: boolean;
  readonly native_steps_integration: boolean;
  readonly two_phase_job_commit: true;
  readonly job_inputs: boolean;
}

/** The `info` block sent on job requests and on every job update. */
export interface RunnerInfo {
  readonly name: string;
  readonly version: string;
  readonly revision: string;
  readonly platform: string;
  readonly architecture: string;
  readonly executor: string;
  readonly shell: string;
  readonly features: RunnerFeatures;
  readonly config: { readonly gpus: string };
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The feature set of a runner: everything `false` except what the network client always supports
 * (`trace_reset`, `trace_checksum`, `trace_size`, `cancelable`, `cancel_gracefully`, `two_phase_job_commit`,
 * `job_inputs`), then `overrides` (what the executor supports).
 */
export function runnerFeatures(overrides: Partial<Omit<RunnerFeatures, 'two_phase_job_commit'>> = {}): RunnerFeatures {
  return {
    variables: false,
    image: false,
    services: false,
    artifacts: false,
    cache: false,
    fallback_cache_keys: false,
    shared: false,
    upload_multiple_artifacts: false,
    upload_raw_artifacts: false,
    session: false,
    terminal: false,
    refspecs: false,
    masking: false,
    proxy: false,
    raw_variables: false,
    artifacts_exclude: false,
    multi_build_steps: false,
    trace_reset: true,
    trace_checksum: true,
    trace_size: true,
    vault_secrets: false,
    cancelable: true,
    return_exit_code: false,
    service_variables: false,
    service_multiple_aliases: false,
    image_executor_opts: false,
    service_executor_opts: false,
    cancel_gracefully: true,
    native_steps_integration: false,
    job_inputs: true,
    ...overrides,
    two_phase_job_commit: true,
  };
}

/** A complete {@link RunnerInfo} with the given fields and the default feature set. */
export function runnerInfo(fields: Partial<RunnerInfo> = {}): RunnerInfo {
  return {
    name: 'runner-core',
    version: '0.1.0',
    revision: 'unknown',
    platform: 'linux',
    architecture: 'amd64',
    executor: 'shell',
    shell: 'bash',
    config: { gpus: '' },
    ...fields,
    features: fields.features ?? runnerFeatures(),
  };
}
