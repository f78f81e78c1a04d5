import type { JobCredentials, JobPayload, JobVariable } from '../job/job.types.js';
import { Secret } from '../secret/secret.js';
import { isRecord } from './server-message.js';

/*
 * The job payload of a 201 to `POST /jobs/request` (docs/gitlab-protocol.md §3), checked and decoded in one pass.
 * Known fields are checked as gitlab-runner's decoder types them, and tolerated where it tolerates them
 * (docs/gitlab-protocol.md §3.3): unknown fields pass through untouched, so a newer GitLab does not break the runner;
 * an unknown enum string is kept; `null` (GitLab sends it for many absent values, older GitLabs even as list entries,
 * `"cache":[null]`) means the zero value: a `null` field is dropped, except where the domain types keep `null` as a
 * meaning of their own (`nullable` below) or need a value (`defaulted`: an absent step name is `''`, as Go decodes
 * it); a `null` list entry is an empty entry. A value of the wrong type is rejected, as Go's decoder rejects it.
 *
 * NOTE: hand-written rather than a schema library: the payload is decoded on every job hand-out, and a schema
 * library's decode of a 2 KB payload cost more than the rest of the HTTP client (docs/adr/0005-hand-written-payload-decoder.md).
 */

/** A wire job payload: JSON as GitLab sends it, plain strings where {@link JobPayload} has secrets. */
export interface WireJobPayload {
  readonly id: number;
  readonly token: string;
  readonly [key: string]: unknown;
}

/** Why a payload could not become a {@link JobPayload}: the path of the offending field and what was wrong. */
export class JobPayloadError extends Error {
  override readonly name = 'JobPayloadError';
  constructor(
    /** `job_info.pipeline_id`, `variables[1].key`, `(root)`. */
    readonly path: string,
    /** What was expected and what kind of value came (never the value: it may be a secret). */
    readonly problem: string,
  ) {
    super(`job payload field ${path} is invalid: ${problem}`);
  }
}

/** Where a value sits in the payload; built as a chain so the happy path formats nothing. */
type Path = { readonly parent: Path; readonly key: string | number } | undefined;
/**
 * Decodes the value at `key` of a container at `parent` (the root has no key). NOTE: the value's own path is built
 * only when something fails (see {@link fail}): a payload has a hundred fields, and a path object each was most of
 * what decoding one allocated.
 */
type Decode = (value: unknown, parent: Path, key: string | number | undefined) => unknown;
/** A known field: its decoder, and what an absent or `null` value means. */
type Field =
  /** `optional`: null is dropped; `nullable`: null is kept. */
  | { readonly decode: Decode; readonly presence: 'optional' | 'nullable' }
  /** `defaulted`: absent or null is `zero` (a field the domain types need). */
  | { readonly decode: Decode; readonly presence: 'defaulted'; readonly zero: unknown };

function formatPath(path: Path): string {
  const keys: Array<string | number> = [];
  for (let at = path; at !== undefined; at = at.parent) keys.unshift(at.key);
  let text = '';
  for (const key of keys) text += typeof key === 'number' ? `[${key}]` : text === '' ? key : `.${key}`;
  return text === '' ? '(root)' : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The path of the value at `key` of the container at `parent`. */
function at(parent: Path, key: string | number | undefined): Path {
  return key === undefined ? parent : { parent, key };
}

function fail(parent: Path, key: string | number | undefined, expected: string, value: unknown): never {
  throw new JobPayloadError(formatPath(at(parent, key)), `expected ${expected}, got ${kindOf(value)}`);
}

const string: Decode = (value, parent, key) =>
  typeof value === 'string' ? value : fail(parent, key, 'a string', value);
const boolean: Decode = (value, parent, key) =>
  typeof value === 'boolean' ? value : fail(parent, key, 'a boolean', value);
const number: Decode = (value, parent, key) =>
  typeof value === 'number' && Number.isFinite(value) ? value : fail(parent, key, 'a number', value);
const integer: Decode = (value, parent, key) =>
  typeof value === 'number' && Number.isSafeInteger(value) ? value : fail(parent, key, 'an integer', value);

/**
 * A list whose items pass `item`; a `null` item is `empty` (then decoded, so an empty object gets its defaults). The
 * input list is returned when no item changed.
 */
const listOf =
  (item: Decode, empty: unknown, inPlace: boolean): Decode =>
  (value, parent, key) => {
    if (!Array.isArray(value)) return fail(parent, key, 'a list', value);
    const path = at(parent, key);
    let out: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      // NOTE: in place, a null entry becomes an object of its own: its defaults and secrets are then written into
      // it, which a shared empty object would carry to every other null entry.
      const raw = value[index] ?? (inPlace && typeof empty === 'object' ? {} : empty);
      const decoded = item(raw, path, index);
      if (decoded !== value[index]) {
        out ??= inPlace ? value : value.slice();
        out[index] = decoded;
      }
    }
    return out ?? value;
  };

/**
 * An object whose known fields pass their decoders; unknown fields are kept. Copies only when something changed,
 * and then only when not `inPlace`.
 */
const objectOf =
  (fields: Readonly<Record<string, Field>>, inPlace: boolean): Decode =>
  (value, parent, key) => {
    if (!isRecord(value)) return fail(parent, key, 'an object', value);
    const path = at(parent, key);
    let out: Record<string, unknown> | undefined;
    for (const name in fields) {
      const field = fields[name] as Field;
      const raw = value[name];
      if (raw === undefined || raw === null) {
        if (field.presence === 'defaulted') {
          out ??= inPlace ? value : { ...value };
          out[name] = field.zero;
          continue;
        }
        if (raw === null && field.presence === 'optional') {
          out ??= inPlace ? value : { ...value };
          delete out[name];
        }
        continue;
      }
      const decoded = field.decode(raw, path, name);
      if (decoded !== raw) {
        out ??= inPlace ? value : { ...value };
        out[name] = decoded;
      }
    }
    return out ?? value;
  };

const defaulted = (decode: Decode, zero: unknown): Field => ({ decode, presence: 'defaulted', zero });
const optional = (decode: Decode): Field => ({ decode, presence: 'optional' });
const nullable = (decode: Decode): Field => ({ decode, presence: 'nullable' });

/**
 * The payload's decoder. `inPlace`: containers whose fields change are changed rather than copied, for an object the
 * decoder owns (fresh from `JSON.parse`); otherwise the caller's object stays as it was.
 */
function payloadShapeOf(inPlace: boolean): Decode {
  const strings = listOf(string, '', inPlace);
  const objects = (fields: Readonly<Record<string, Field>>): Decode => listOf(objectOf(fields, inPlace), {}, inPlace);

  const variable = objectOf(
    {
      // NOTE: a variable without a key is kept (Go decodes it as ''); nothing sets it in a job's environment.
      key: defaulted(string, ''),
      // NOTE: a null value is an empty variable (it becomes '').
      value: nullable(string),
      public: optional(boolean),
      file: optional(boolean),
      masked: optional(boolean),
      raw: optional(boolean),
    },
    inPlace,
  );

  const image = objectOf(
    {
      name: optional(string),
      alias: optional(string),
      command: optional(strings),
      entrypoint: optional(strings),
      ports: optional(objects({ number: defaulted(integer, 0), protocol: optional(string), name: optional(string) })),
      variables: optional(listOf(variable, {}, inPlace)),
      pull_policy: optional(strings),
      executor_opts: optional(objectOf({}, inPlace)),
    },
    inPlace,
  );

  const payloadFields = {
    allow_git_fetch: optional(boolean),
    job_info: optional(
      objectOf(
        {
          name: optional(string),
          stage: optional(string),
          pipeline_id: optional(integer),
          project_id: optional(integer),
          project_name: optional(string),
          project_full_path: optional(string),
          namespace_id: optional(integer),
          root_namespace_id: optional(integer),
          organization_id: optional(integer),
          user_id: optional(integer),
          scoped_user_id: nullable(integer),
          instance_id: optional(string),
          instance_uuid: optional(string),
          time_in_queue_seconds: optional(number),
          // NOTE: GitLab sends this count as a string.
          project_jobs_running_on_instance_runners_count: optional(string),
          queue_size: optional(integer),
          queue_depth: optional(integer),
        },
        inPlace,
      ),
    ),
    git_info: optional(
      objectOf(
        {
          repo_url: optional(string),
          repo_object_format: optional(string),
          ref: optional(string),
          sha: optional(string),
          before_sha: optional(string),
          ref_type: optional(string),
          refspecs: optional(strings),
          depth: optional(integer),
          protected: nullable(boolean),
        },
        inPlace,
      ),
    ),
    runner_info: optional(
      objectOf({ uuid: optional(string), timeout: optional(integer), runner_session_url: nullable(string) }, inPlace),
    ),
    variables: optional(listOf(variable, {}, inPlace)),
    steps: optional(
      objects({
        name: defaulted(string, ''),
        script: defaulted(strings, []),
        timeout: optional(integer),
        // NOTE: a `when` this runner does not know is kept, as gitlab-runner keeps it (executors treat it as on_success).
        when: optional(string),
        allow_failure: optional(boolean),
      }),
    ),
    image: optional(image),
    services: optional(listOf(image, {}, inPlace)),
    artifacts: optional(
      objects({
        name: optional(string),
        untracked: optional(boolean),
        paths: optional(strings),
        exclude: optional(strings),
        when: optional(string),
        artifact_type: optional(string),
        artifact_format: optional(string),
        expire_in: optional(string),
      }),
    ),
    cache: optional(
      objects({
        key: optional(string),
        untracked: optional(boolean),
        policy: optional(string),
        paths: optional(strings),
        when: optional(string),
        fallback_keys: optional(strings),
      }),
    ),
    credentials: optional(
      objects({
        type: optional(string),
        url: optional(string),
        username: optional(string),
        password: optional(string),
      }),
    ),
    dependencies: optional(
      objects({
        id: defaulted(integer, 0),
        token: optional(string),
        name: optional(string),
        artifacts_file: optional(objectOf({ filename: optional(string), size: optional(integer) }, inPlace)),
      }),
    ),
    features: optional(
      objectOf(
        {
          job_status: optional(boolean),
          trace_sections: optional(boolean),
          token_mask_prefixes: optional(strings),
          failure_reasons: optional(strings),
          tracing: optional(objectOf({}, inPlace)),
        },
        inPlace,
      ),
    ),
    hooks: optional(objects({ name: defaulted(string, ''), script: defaulted(strings, []) })),
    // NOTE: `run` is a string holding a JSON list of steps, not the list itself.
    run: optional(string),
  } satisfies Record<string, Field>;
  return objectOf(payloadFields, inPlace);
}

/** The payload's decoder, copying what it changes (the caller keeps its object). */
const payloadShape = payloadShapeOf(false);
/** The payload's decoder, changing an object nothing else holds in place (no copy per changed container). */
const payloadShapeInPlace = payloadShapeOf(true);

/** The job's credentials when a body has a usable `id` and `token`, whatever else is wrong with it. */
export function readableCredentials(raw: unknown): JobCredentials | undefined {
  if (!isRecord(raw)) return undefined;
  const { id, token } = raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) return undefined;
  if (typeof token !== 'string' || token === '') return undefined;
  return { id, token: new Secret(token) };
}

/**
 * Checks a decoded JSON job payload and turns it into a {@link JobPayload}: the job token, the repo URL (it embeds
 * the job token), masked variable values (of the job, its image and its services), registry passwords and
 * dependency tokens become {@link Secret}s; unknown fields are kept. `raw` is left as it was.
 *
 * @throws {JobPayloadError} naming the first failing field: `id` not a positive integer, `token` not a non-empty
 *   string, or a known field of the wrong type.
 */
export function decodeJobPayload(raw: unknown): JobPayload {
  const token = checkedToken(raw);
  const checked = payloadShape(raw, undefined, undefined) as Record<string, unknown>;
  const payload: Record<string, unknown> = { ...checked, token: new Secret(token) };
  const gitInfo = checked.git_info;
  if (isRecord(gitInfo) && typeof gitInfo.repo_url === 'string') {
    payload.git_info = { ...gitInfo, repo_url: new Secret(gitInfo.repo_url) };
  }
  if (Array.isArray(checked.variables)) payload.variables = checked.variables.map(variableOf);
  if (isRecord(checked.image)) payload.image = withSecretVariables(checked.image);
  if (Array.isArray(checked.services)) payload.services = checked.services.map(withSecretVariables);
  if (Array.isArray(checked.credentials)) {
    payload.credentials = checked.credentials.map((entry: Record<string, unknown>) =>
      typeof entry.password === 'string' ? { ...entry, password: new Secret(entry.password) } : entry,
    );
  }
  if (Array.isArray(checked.dependencies)) {
    payload.dependencies = checked.dependencies.map((entry: Record<string, unknown>) =>
      typeof entry.token === 'string' ? { ...entry, token: new Secret(entry.token) } : entry,
    );
  }
  return payload as unknown as JobPayload;
}

/**
 * {@link decodeJobPayload} of a value nothing else holds (fresh from `JSON.parse`), which becomes the payload: its
 * containers are changed in place rather than copied, the secrets wrapped where they are. The result is the same
 * (fields, their order and the secrets) as `decodeJobPayload` gives. NOTE: copying the payload, its `git_info` and
 * every list it wraps secrets in was most of what decoding allocated per job, and so most of the garbage a job
 * hand-out left (docs/adr/0005-hand-written-payload-decoder.md). When it throws, `raw` may have been changed where
 * the check had already passed (a null dropped, a default set), never its `id` and `token`: the caller can still
 * read the job's credentials from it to release the job.
 *
 * @throws {JobPayloadError} as {@link decodeJobPayload}
 */
export function decodeParsedJobPayload(raw: unknown): JobPayload {
  const token = checkedToken(raw);
  const payload = payloadShapeInPlace(raw, undefined, undefined) as Record<string, unknown>;
  payload.token = new Secret(token);
  const gitInfo = payload.git_info;
  if (isRecord(gitInfo) && typeof gitInfo.repo_url === 'string') gitInfo.repo_url = new Secret(gitInfo.repo_url);
  if (Array.isArray(payload.variables)) variablesInPlace(payload.variables);
  if (isRecord(payload.image) && Array.isArray(payload.image.variables)) variablesInPlace(payload.image.variables);
  if (Array.isArray(payload.services)) {
    for (const service of payload.services as Array<Record<string, unknown>>) {
      if (Array.isArray(service.variables)) variablesInPlace(service.variables);
    }
  }
  if (Array.isArray(payload.credentials)) {
    for (const entry of payload.credentials as Array<Record<string, unknown>>) {
      if (typeof entry.password === 'string') entry.password = new Secret(entry.password);
    }
  }
  if (Array.isArray(payload.dependencies)) {
    for (const entry of payload.dependencies as Array<Record<string, unknown>>) {
      if (typeof entry.token === 'string') entry.token = new Secret(entry.token);
    }
  }
  return payload as unknown as JobPayload;
}

/** The root's `token`, once the root, its `id` and the token are checked (they name the job a failure releases). */
function checkedToken(raw: unknown): string {
  if (!isRecord(raw)) return fail(undefined, undefined, 'an object', raw);
  const { id, token } = raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new JobPayloadError('id', `expected a positive integer, got ${kindOf(id)}`);
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new JobPayloadError('token', `expected a non-empty string, got ${kindOf(token)}`);
  }
  return token;
}

/**
 * Each checked variable of a list as a {@link JobVariable}, written back into the list. NOTE: each variable is still
 * a new object ({@link variableOf}): it keeps its own order of keys and no unknown field.
 */
function variablesInPlace(variables: unknown[]): void {
  for (let index = 0; index < variables.length; index++) {
    variables[index] = variableOf(variables[index] as Record<string, unknown>);
  }
}

/** A checked wire variable as a {@link JobVariable}: masked values wrapped, a null value empty. */
function variableOf(raw: Record<string, unknown>): JobVariable {
  const key = raw.key as string;
  const value = typeof raw.value === 'string' ? raw.value : '';
  // NOTE: assigned rather than spread from conditional literals, which cost most of a payload's decoding; the keys
  // come in the same order (key, value, masked, then the flags present).
  const variable: { -readonly [K in keyof JobVariable]?: unknown } =
    raw.masked === true ? { key, value: new Secret(value), masked: true } : { key, value, masked: false };
  if (typeof raw.public === 'boolean') variable.public = raw.public;
  if (typeof raw.file === 'boolean') variable.file = raw.file;
  if (typeof raw.raw === 'boolean') variable.raw = raw.raw;
  return variable as JobVariable;
}

/** An image or service whose masked variables are wrapped (they would show when the payload is inspected). */
function withSecretVariables(entry: Record<string, unknown>): Record<string, unknown> {
  return Array.isArray(entry.variables) ? { ...entry, variables: entry.variables.map(variableOf) } : entry;
}
