import type { Secret } from '../secret/secret.js';

/** A job's identity on the wire: its id and job token (`JOB-TOKEN`). */
export interface JobCredentials {
  readonly id: number;
  readonly token: Secret;
}

/** A CI/CD variable from the job payload. Masked values are {@link Secret}s so they cannot leak by printing. */
export type JobVariable =
  | {
      readonly key: string;
      readonly value: string;
      readonly masked: false;
      readonly public?: boolean;
      readonly file?: boolean;
      readonly raw?: boolean;
    }
  | {
      readonly key: string;
      readonly value: Secret;
      readonly masked: true;
      readonly public?: boolean;
      readonly file?: boolean;
      readonly raw?: boolean;
    };

/** GitLab's step conditions; `string & {}` keeps editors suggesting the known ones while any string is allowed. */
export type StepWhen = 'on_success' | 'on_failure' | 'always' | (string & {});

/** One step of the job (`script`, `after_script`, …). */
export interface JobStep {
  readonly name: string;
  readonly script: readonly string[];
  /** Seconds. */
  readonly timeout?: number;
  /** When the step runs; a value this runner does not know is kept as it came (and runs as `on_success`). */
  readonly when?: StepWhen;
  readonly allow_failure?: boolean;
}

export interface JobInfo {
  readonly name?: string;
  readonly stage?: string;
  readonly pipeline_id?: number;
  readonly project_id?: number;
  readonly project_name?: string;
  readonly project_full_path?: string;
  readonly namespace_id?: number;
  readonly root_namespace_id?: number;
  readonly organization_id?: number;
  readonly user_id?: number;
  readonly scoped_user_id?: number | null;
  readonly time_in_queue_seconds?: number;
  /** NOTE: GitLab sends this count as a string. */
  readonly project_jobs_running_on_instance_runners_count?: string;
  readonly queue_size?: number;
  readonly queue_depth?: number;
  readonly [key: string]: unknown;
}

export interface GitInfo {
  /** NOTE: embeds `gitlab-ci-token:<job token>@`, hence a secret. */
  readonly repo_url?: Secret;
  readonly repo_object_format?: string;
  readonly ref?: string;
  readonly sha?: string;
  readonly before_sha?: string;
  readonly ref_type?: 'branch' | 'tag' | string;
  readonly refspecs?: readonly string[];
  readonly depth?: number;
  readonly protected?: boolean | null;
  readonly [key: string]: unknown;
}

export interface JobRunnerInfo {
  readonly uuid?: string;
  /** Job timeout in seconds. */
  readonly timeout?: number;
  readonly runner_session_url?: string | null;
  readonly [key: string]: unknown;
}

/** Server-side features of the job payload (`features`). */
export interface JobFeatures {
  /**
   * The server offers `POST /api/v4/jobs/:id/runner_status` (the proposed confirmation endpoint). Policy `auto`
   * then confirms with the `runner-status` strategy.
   */
  readonly job_status?: boolean;
  readonly trace_sections?: boolean;
  readonly token_mask_prefixes?: readonly string[];
  /** The failure reasons this GitLab accepts. */
  readonly failure_reasons?: readonly string[];
  readonly [key: string]: unknown;
}

/**
 * The job payload of a `201` to `POST /jobs/request` (docs/gitlab-protocol.md §3), with secrets wrapped.
 * Known fields are typed; unknown fields are kept as they came.
 */
export interface JobPayload {
  readonly id: number;
  readonly token: Secret;
  readonly allow_git_fetch?: boolean;
  readonly job_info?: JobInfo;
  readonly git_info?: GitInfo;
  readonly runner_info?: JobRunnerInfo;
  readonly variables?: readonly JobVariable[];
  readonly steps?: readonly JobStep[];
  readonly features?: JobFeatures;
  readonly [key: string]: unknown;
}

/** The credentials of a payload. */
export function jobCredentialsOf(job: Pick<JobPayload, 'id' | 'token'>): JobCredentials {
  return { id: job.id, token: job.token };
}

/** A variable's plain value (masked ones revealed): for building a child process environment. */
export function revealVariable(variable: JobVariable): string {
  return variable.masked ? variable.value.reveal() : variable.value;
}
