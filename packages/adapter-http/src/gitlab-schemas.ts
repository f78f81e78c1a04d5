import {
  type JobCredentials,
  type JobPayload,
  JobPayloadError,
  jobPayloadFromWire,
  MalformedResponseError,
  redact,
  Secret,
} from '@runner-core/core';
import { z } from 'zod';

/*
 * The job payload of a 201 to `POST /jobs/request` (gitlab-protocol §3), checked at the edge. Known fields are typed
 * as gitlab-runner decodes them; unknown fields pass through (`.loose()`), so a newer GitLab does not break us.
 * NOTE: GitLab sends `null` for many absent values; a null is accepted wherever a field is optional and becomes
 * `undefined`, except where the core's types keep `null` as a meaning of its own.
 */

/** Optional and nullable on the wire; `null` becomes `undefined`. */
const opt = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
/** Optional on the wire; `null` is kept (the core's type says `| null`). */
const nullable = <T extends z.ZodType>(schema: T) => schema.nullish();

const str = z.string();
const int = z.number().int();
const strings = z.array(z.string());

const jobInfoSchema = z
  .object({
    name: opt(str),
    stage: opt(str),
    pipeline_id: opt(int),
    project_id: opt(int),
    project_name: opt(str),
    project_full_path: opt(str),
    namespace_id: opt(int),
    root_namespace_id: opt(int),
    organization_id: opt(int),
    user_id: opt(int),
    scoped_user_id: nullable(int),
    instance_id: opt(str),
    instance_uuid: opt(str),
    time_in_queue_seconds: opt(z.number()),
    // NOTE: GitLab sends this count as a string.
    project_jobs_running_on_instance_runners_count: opt(str),
    queue_size: opt(int),
    queue_depth: opt(int),
  })
  .loose();

const gitInfoSchema = z
  .object({
    repo_url: opt(str),
    repo_object_format: opt(str),
    ref: opt(str),
    sha: opt(str),
    before_sha: opt(str),
    ref_type: opt(str),
    refspecs: opt(strings),
    depth: opt(int),
    protected: nullable(z.boolean()),
  })
  .loose();

const runnerInfoSchema = z.object({ uuid: opt(str), timeout: opt(int), runner_session_url: nullable(str) }).loose();

const variableSchema = z
  .object({
    key: str,
    // NOTE: a null value is an empty variable; the core's decoder turns it into ''.
    value: nullable(str),
    public: opt(z.boolean()),
    file: opt(z.boolean()),
    masked: opt(z.boolean()),
    raw: opt(z.boolean()),
  })
  .loose();

const stepSchema = z
  .object({
    name: str,
    script: opt(strings),
    timeout: opt(int),
    when: opt(z.enum(['on_success', 'on_failure', 'always'])),
    allow_failure: opt(z.boolean()),
  })
  .loose();

const imageSchema = z
  .object({
    name: opt(str),
    alias: opt(str),
    command: opt(strings),
    entrypoint: opt(strings),
    ports: opt(z.array(z.object({ number: int, protocol: opt(str), name: opt(str) }).loose())),
    variables: opt(z.array(variableSchema)),
    pull_policy: opt(strings),
    executor_opts: opt(z.object({}).loose()),
  })
  .loose();

const artifactSchema = z
  .object({
    name: opt(str),
    untracked: opt(z.boolean()),
    paths: opt(strings),
    exclude: opt(strings),
    when: opt(str),
    artifact_type: opt(str),
    artifact_format: opt(str),
    expire_in: opt(str),
  })
  .loose();

const cacheSchema = z
  .object({
    key: opt(str),
    untracked: opt(z.boolean()),
    policy: opt(str),
    paths: opt(strings),
    when: opt(str),
    fallback_keys: opt(strings),
  })
  .loose();

const credentialSchema = z.object({ type: opt(str), url: opt(str), username: opt(str), password: opt(str) }).loose();

const dependencySchema = z
  .object({
    id: int,
    token: opt(str),
    name: opt(str),
    artifacts_file: opt(z.object({ filename: opt(str), size: opt(int) }).loose()),
  })
  .loose();

const featuresSchema = z
  .object({
    job_status: opt(z.boolean()),
    trace_sections: opt(z.boolean()),
    token_mask_prefixes: opt(strings),
    failure_reasons: opt(strings),
    tracing: opt(z.object({}).loose()),
  })
  .loose();

/** The 201 body of `POST /jobs/request`: `id` (positive integer) and `token` (non-empty) required. */
export const jobPayloadSchema = z
  .object({
    id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    token: z.string().min(1),
    allow_git_fetch: opt(z.boolean()),
    job_info: opt(jobInfoSchema),
    git_info: opt(gitInfoSchema),
    runner_info: opt(runnerInfoSchema),
    variables: opt(z.array(variableSchema)),
    steps: opt(z.array(stepSchema)),
    image: opt(imageSchema),
    services: opt(z.array(imageSchema)),
    artifacts: opt(z.array(artifactSchema)),
    cache: opt(z.array(cacheSchema)),
    credentials: opt(z.array(credentialSchema)),
    dependencies: opt(z.array(dependencySchema)),
    features: opt(featuresSchema),
    hooks: opt(z.array(z.object({ name: str, script: opt(strings) }).loose())),
    // NOTE: `run` is a string holding a JSON list of steps, not the list itself.
    run: opt(str),
  })
  .loose();

/** The job's credentials when a body has a usable `id` and `token`, whatever else is wrong with it. */
export function readableCredentials(raw: unknown): JobCredentials | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { id, token } = raw as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return undefined;
  if (typeof token !== 'string' || token === '') return undefined;
  return { id, token: new Secret(token) };
}

/**
 * Validates a decoded 201 body and wraps its secrets.
 *
 * @throws {MalformedResponseError} naming the first failing field path (`job_info.pipeline_id`, `variables[0].key`),
 *   with the job's credentials when they are readable, so the caller can release the job.
 */
export function decodeJobPayload(raw: unknown, what: string): JobPayload {
  const credentials = readableCredentials(raw);
  const parsed = jobPayloadSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? '(root)' : formatPath(issue.path);
    const problem = issue?.message ?? 'invalid';
    throw new MalformedResponseError(
      redact(`${what}: job payload field ${path} is invalid: ${problem}`, [credentials?.token]),
      credentials,
    );
  }
  try {
    return jobPayloadFromWire(parsed.data);
  } catch (error) {
    if (error instanceof JobPayloadError) {
      throw new MalformedResponseError(redact(`${what}: ${error.message}`, [credentials?.token]), credentials);
    }
    throw error;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
