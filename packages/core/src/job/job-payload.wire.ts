import { Secret } from '../secret/secret.js';
import type { JobPayload, JobVariable } from './job.types.js';

/** A job payload as JSON on the wire: plain strings where {@link JobPayload} has secrets. */
export interface WireJobPayload {
  readonly id: number;
  readonly token: string;
  readonly [key: string]: unknown;
}

/** Why a wire payload could not become a {@link JobPayload}: the path of the offending field and what was wrong. */
export class JobPayloadError extends Error {
  override readonly name = 'JobPayloadError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`job payload field ${path}: ${problem}`);
  }
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Turns a decoded JSON job payload into a {@link JobPayload}: wraps the job token, the repo URL (it embeds the
 * job token), masked variable values, registry passwords and dependency tokens in {@link Secret}s, and keeps
 * unknown fields. Shape checks of the known fields are the adapter's job (a schema at the edge); this function
 * only insists on what it must read.
 *
 * @throws {JobPayloadError} when `id` is not a positive integer, `token` is not a non-empty string, or
 *   `variables` is present but not a list of `{key, value}` objects.
 */
export function jobPayloadFromWire(raw: unknown): JobPayload {
  if (!isObject(raw)) throw new JobPayloadError('(root)', 'expected a JSON object');
  const { id, token } = raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new JobPayloadError('id', 'expected a positive integer');
  }
  if (typeof token !== 'string' || token.length === 0)
    throw new JobPayloadError('token', 'expected a non-empty string');

  const payload: Record<string, unknown> = { ...raw, id, token: new Secret(token) };
  if (isObject(raw.git_info) && typeof raw.git_info.repo_url === 'string') {
    payload.git_info = { ...raw.git_info, repo_url: new Secret(raw.git_info.repo_url) };
  }
  if (raw.variables !== undefined && raw.variables !== null) {
    if (!Array.isArray(raw.variables)) throw new JobPayloadError('variables', 'expected a list');
    payload.variables = raw.variables.map((variable, index) => variableFromWire(variable, index));
  }
  if (Array.isArray(raw.credentials)) {
    payload.credentials = raw.credentials.map((entry) =>
      isObject(entry) && typeof entry.password === 'string'
        ? { ...entry, password: new Secret(entry.password) }
        : entry,
    );
  }
  if (Array.isArray(raw.dependencies)) {
    payload.dependencies = raw.dependencies.map((entry) =>
      isObject(entry) && typeof entry.token === 'string' ? { ...entry, token: new Secret(entry.token) } : entry,
    );
  }
  return payload as unknown as JobPayload;
}

function variableFromWire(raw: unknown, index: number): JobVariable {
  if (!isObject(raw) || typeof raw.key !== 'string') {
    throw new JobPayloadError(`variables[${index}].key`, 'expected a string');
  }
  const value = raw.value === undefined || raw.value === null ? '' : raw.value;
  if (typeof value !== 'string') throw new JobPayloadError(`variables[${index}].value`, 'expected a string');
  const flags = {
    ...(typeof raw.public === 'boolean' ? { public: raw.public } : {}),
    ...(typeof raw.file === 'boolean' ? { file: raw.file } : {}),
    ...(typeof raw.raw === 'boolean' ? { raw: raw.raw } : {}),
  };
  return raw.masked === true
    ? { key: raw.key, value: new Secret(value), masked: true, ...flags }
    : { key: raw.key, value, masked: false, ...flags };
}

/**
 * The inverse of {@link jobPayloadFromWire}: the JSON GitLab would send for this payload, secrets revealed.
 * For fakes that serve payloads over HTTP; never log its result.
 */
export function jobPayloadToWire(payload: JobPayload): WireJobPayload {
  // NOTE: JSON.stringify applies toJSON (which redacts) before the replacer, so read the holder's original value.
  return JSON.parse(
    JSON.stringify(payload, function reveal(this: Record<string, unknown>, key: string, value: unknown) {
      const original = this[key];
      return original instanceof Secret ? original.reveal() : value;
    }),
  );
}
