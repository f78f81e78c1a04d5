import type { JobCredentials, JobPayload } from '../job/job.types.js';
import type {
  PatchTraceResult,
  RequestJobResult,
  RunnerStatusResult,
  UpdateJobResult,
} from '../network/network.types.js';
import type { RunnerCredentials } from '../network/runner-info.js';
import { Secret } from '../secret/secret.js';
import { aJobToken, nextSequence } from '../simulation/sequence.js';
import { aWireJob, type JobSpec } from '../simulation/wire-job.js';
import { decodeJobPayload } from '../wire/job-payload-decoding.js';

// Object mothers for tests in every package. Values are deterministic (counters, no randomness) so a failing
// test prints the same thing twice; tokens look like GitLab's so prefix handling is exercised.

/** A runner authentication token shaped like GitLab's (`glrt-` + 20 characters); a new one on every call. */
export function aRunnerToken(): string {
  return `glrt-${`runnertoken${nextSequence()}`.padEnd(20, 'x')}`;
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
  return { id: overrides.id ?? nextSequence(), token: overrides.token ?? new Secret(aJobToken()) };
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
