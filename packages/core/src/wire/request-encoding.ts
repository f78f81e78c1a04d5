import type { JobCredentials } from '../job/job.types.js';
import { ClientConfigError } from '../network/network.errors.js';
import type {
  PatchTraceInput,
  RequestJobInput,
  RunnerStatusInput,
  UpdateJobInput,
  VerifyRunnerInput,
} from '../network/network.types.js';
import type { RunnerInfo } from '../network/runner-info.js';
import type { WireRequest } from './wire-message.js';

/*
 * How each runner API call goes on the wire (docs/gitlab-protocol.md §2.1–§2.3, §4.1, §7, §8.1 R11, §8.2 U12): the
 * one place that decides paths, headers and bodies, so every transport sends the same bytes.
 */

/** What every encoded call carries besides its input. */
export interface EncodeContext {
  /** This call's `X-Request-Id` (32 lowercase hex characters, as gitlab-runner makes them). */
  readonly requestId: string;
  readonly userAgent: string;
  /** The largest answer body accepted for this call, in bytes. */
  readonly maxResponseBytes: number;
}

const API = '/api/v4/';
const encoder = new TextEncoder();

/**
 * Bodies are encoded into shared slabs, each body a view of its own bytes, never reused: a body of its own buffer
 * costs an ArrayBuffer allocation (and its release at GC) per call, several times the encoding itself. A slab lives
 * as long as a body cut from it does. (Node's Buffer pool does the same for small buffers.)
 */
const SLAB_BYTES = 64 * 1024;
/** A body that could need more than this many bytes gets a buffer of its own. */
const LARGEST_SLABBED_BYTES = 8 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

const quoted = (value: string): string => JSON.stringify(value);

/**
 * `info` as UTF-8 JSON, by object: the block goes with every job request, keep-alive and update (most of each body)
 * and never changes, so it is serialised and encoded once per object and copied into each body. NOTE: an `info` is
 * read once; a runner that changes its info passes a new object (the types make every field read-only).
 */
const infoBytes = new WeakMap<RunnerInfo, Uint8Array>();

function encodedInfo(info: RunnerInfo): Uint8Array {
  let bytes = infoBytes.get(info);
  if (bytes === undefined) {
    bytes = encoder.encode(JSON.stringify(info));
    infoBytes.set(info, bytes);
  }
  return bytes;
}

/** `head`, then `info` as JSON, then `tail`, as UTF-8 bytes: every JSON body carries the info block once. */
function jsonWithInfo(head: string, info: RunnerInfo, tail: string): Uint8Array {
  const block = encodedInfo(info);
  // NOTE: UTF-8 needs at most 3 bytes per UTF-16 code unit; a body that might not fit is not cut from the slab.
  const most = (head.length + tail.length) * 3 + block.length;
  if (most > LARGEST_SLABBED_BYTES) {
    const own = new Uint8Array(most);
    return own.subarray(0, write(own, 0, head, block, tail));
  }
  if (slabUsed + most > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const start = slabUsed;
  slabUsed = write(slab, start, head, block, tail);
  return slab.subarray(start, slabUsed);
}

/** Writes `head`, `block` and `tail` into `target` from `at`, which has room for them; returns where they end. */
function write(target: Uint8Array, at: number, head: string, block: Uint8Array, tail: string): number {
  let end = at + encoder.encodeInto(head, target.subarray(at)).written;
  target.set(block, end);
  end += block.length;
  return end + encoder.encodeInto(tail, target.subarray(end)).written;
}

/**
 * `POST /api/v4/runners/verify`: `RUNNER-TOKEN` header and body `token`, `system_id` (when set) and `info`, as
 * gitlab-runner's `verify` sends them.
 */
export function encodeVerifyRunner(input: VerifyRunnerInput, context: EncodeContext): WireRequest {
  return runnerPost('verify-runner', 'runners/verify', input, undefined, context);
}

/**
 * `POST /api/v4/jobs/request`: `RUNNER-TOKEN` header and body `token` (Rails reads the body, the header serves
 * Workhorse), `system_id` unless empty, the last `X-GitLab-Last-Update` seen as `last_update`, and `info` with every
 * feature (R11, R12).
 */
export function encodeRequestJob(
  input: RequestJobInput,
  lastUpdate: string | undefined,
  context: EncodeContext,
): WireRequest {
  return runnerPost('request-job', 'jobs/request', input, lastUpdate, context, input.signal);
}

/** A call authenticated by the runner token: the token in the `RUNNER-TOKEN` header and in the JSON body. */
function runnerPost(
  operation: 'verify-runner' | 'request-job',
  path: string,
  input: VerifyRunnerInput,
  lastUpdate: string | undefined,
  context: EncodeContext,
  signal?: AbortSignal,
): WireRequest {
  const { token, systemId } = input.credentials;
  // The bytes of JSON.stringify({ token, system_id?, last_update?, info }), around the encoded info.
  let head = `{"token":${quoted(token.reveal())}`;
  if (systemId !== '' && systemId !== undefined) head += `,"system_id":${quoted(systemId)}`;
  if (lastUpdate !== undefined && lastUpdate !== '') head += `,"last_update":${quoted(lastUpdate)}`;
  const body = jsonWithInfo(`${head},"info":`, input.info, '}');
  return {
    operation,
    method: 'POST',
    path,
    headers: {
      'RUNNER-TOKEN': token.reveal(),
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': context.userAgent,
      'X-Request-Id': context.requestId,
    },
    body,
    what: `POST ${API}${path}`,
    secrets: [token],
    maxResponseBytes: context.maxResponseBytes,
    ...(signal === undefined ? {} : { signal }),
  };
}

/**
 * `PUT /api/v4/jobs/:id`: `JOB-TOKEN` header and body `token`, `state`, `info`; `failure_reason` only with `failed`
 * (GitLab reads it with no other state); `exit_code` unless 0; `output` always (`{}` on a keep-alive or a
 * confirmation, as gitlab-runner sends it), and the deprecated top-level `checksum` beside it for older GitLabs.
 *
 * @throws {ClientConfigError} for a job id that is not a positive integer
 */
export function encodeUpdateJob(job: JobCredentials, input: UpdateJobInput, context: EncodeContext): WireRequest {
  const id = checkedJobId(job.id);
  // NOTE: an empty checksum or a zero size is no output (as gitlab-runner's omitempty drops them).
  const checksum = input.output?.checksum || undefined;
  const bytesize = input.output?.bytesize || undefined;
  // The bytes of JSON.stringify({ info, token, state, failure_reason?, exit_code?, checksum?, output }).
  let tail = `,"token":${quoted(job.token.reveal())},"state":${quoted(input.state)}`;
  if (input.state === 'failed' && input.failureReason !== undefined) {
    tail += `,"failure_reason":${quoted(input.failureReason)}`;
  }
  if (input.exitCode !== undefined && input.exitCode !== 0) tail += `,"exit_code":${JSON.stringify(input.exitCode)}`;
  if (checksum !== undefined) tail += `,"checksum":${quoted(checksum)}`;
  // NOTE: a keep-alive or a confirmation has no output: `{}` as it is, without an object built and serialised for it.
  tail +=
    checksum === undefined && bytesize === undefined
      ? ',"output":{}}'
      : `,"output":${JSON.stringify({
          ...(checksum === undefined ? {} : { checksum }),
          ...(bytesize === undefined ? {} : { bytesize }),
        })}}`;
  return jobCall('update-job', 'PUT', `jobs/${id}`, job, jsonWithInfo('{"info":', input.info, tail), context);
}

/**
 * `POST /api/v4/jobs/:id/runner_status` (the proposed endpoint): `JOB-TOKEN` header and body `{token, status, info}`.
 *
 * @throws {ClientConfigError} for a job id that is not a positive integer
 */
export function encodeRunnerStatus(job: JobCredentials, input: RunnerStatusInput, context: EncodeContext): WireRequest {
  const id = checkedJobId(job.id);
  // The bytes of JSON.stringify({ token, status, info }).
  const head = `{"token":${quoted(job.token.reveal())},"status":${quoted(input.status)},"info":`;
  const body = jsonWithInfo(head, input.info, '}');
  return jobCall('post-runner-status', 'POST', `jobs/${id}/runner_status`, job, body, context);
}

/**
 * `PATCH /api/v4/jobs/:id/trace?debug_trace=…`: `JOB-TOKEN` header only, `Content-Range: start-endInclusive` (one
 * byte at 0 is `0-0`), `Content-Type: text/plain`, the bytes as they are (P2, P10). An empty patch is no request
 * (P1): `undefined`.
 *
 * @throws {ClientConfigError} for a job id that is not a positive integer or an offset that is not a non-negative
 *   integer (nothing is sent)
 */
export function encodePatchTrace(
  job: JobCredentials,
  input: PatchTraceInput,
  context: EncodeContext,
): WireRequest | undefined {
  const id = checkedJobId(job.id);
  if (!Number.isSafeInteger(input.offset) || input.offset < 0) {
    throw new ClientConfigError(`trace offset must be a non-negative integer, got ${String(input.offset)}`);
  }
  const length = input.content.byteLength;
  if (length === 0 && input.probe !== true) return undefined;
  const request = jobCall(
    'patch-trace',
    'PATCH',
    `jobs/${id}/trace?debug_trace=${input.debugTrace === true}`,
    job,
    input.content,
    context,
  );
  return {
    ...request,
    what: `PATCH ${API}jobs/${id}/trace`,
    headers: {
      ...request.headers,
      // NOTE: GitLab reads only the start; an empty probe names its one offset.
      'Content-Range': `${input.offset}-${input.offset + Math.max(length, 1) - 1}`,
      'Content-Type': 'text/plain',
    },
  };
}

function jobCall(
  operation: WireRequest['operation'],
  method: WireRequest['method'],
  path: string,
  job: JobCredentials,
  body: Uint8Array,
  context: EncodeContext,
): WireRequest {
  return {
    operation,
    method,
    path,
    headers: {
      'JOB-TOKEN': job.token.reveal(),
      'Content-Type': 'application/json',
      'User-Agent': context.userAgent,
      'X-Request-Id': context.requestId,
    },
    body,
    what: `${method} ${API}${path}`,
    secrets: [job.token],
    maxResponseBytes: context.maxResponseBytes,
  };
}

function checkedJobId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new ClientConfigError(`job id must be a positive integer, got ${String(id)}`);
  }
  return id;
}
