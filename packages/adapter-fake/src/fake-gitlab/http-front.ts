import type { RecordedAnswer, ServerOperation, ServerProfile } from '@runner-core/core/simulation';
import type { FakeHttpRequest, FakeReply } from './fake-gitlab.types.js';
import {
  type Answer,
  bodyText,
  headerOf,
  isRecord,
  loggableHeaders,
  loggableJson,
  messageAnswer,
  parseJsonBody,
  randomChars,
  splitUrl,
} from './http-answers.js';
import { type Injections, scriptedAnswer } from './injections.js';
import type { RequestLog } from './request-log.js';
import { type RunnerApiModel, stringField } from './runner-api-model.js';

interface Route {
  readonly operation: ServerOperation | 'unknown';
  readonly jobId?: number;
  /** The answer when the route cannot serve the request (404, 405); the model and injections are skipped. */
  readonly refusal?: Answer;
}

/**
 * What Grape and Workhorse do around the runner API's logic: routing (404 for unknown paths, 405 for a wrong
 * method), scripted answers before the model, the request log, and `X-Request-Id` on every answer.
 */
export class HttpFront {
  readonly #model: RunnerApiModel;
  readonly #injections: Injections;
  readonly #log: RequestLog;
  readonly #profile: () => ServerProfile;
  readonly #random: () => number;

  constructor(parts: {
    readonly model: RunnerApiModel;
    readonly injections: Injections;
    readonly log: RequestLog;
    readonly profile: () => ServerProfile;
    readonly random: () => number;
  }) {
    this.#model = parts.model;
    this.#injections = parts.injections;
    this.#log = parts.log;
    this.#profile = parts.profile;
    this.#random = parts.random;
  }

  /** Answers one request at `now`. The caller applies `delayMs` and faults; the model's effects happen at arrival. */
  handle(request: FakeHttpRequest, now: number): FakeReply {
    const method = request.method.toUpperCase();
    const { path, query } = splitUrl(request.url);
    const route = this.#route(method, path);
    const requestId = headerOf(request.headers, 'X-Request-Id') ?? randomChars(this.#random, 26);
    const body = loggableBody(route.operation, request.body);
    const state = isRecord(body)
      ? stringField(body, route.operation === 'post-runner-status' ? 'status' : 'state')
      : undefined;
    const record = (answer: RecordedAnswer): void =>
      this.#log.record({
        at: now,
        operation: route.operation,
        method,
        path,
        query,
        ...(route.jobId === undefined ? {} : { jobId: route.jobId }),
        ...(state === undefined ? {} : { state }),
        headers: loggableHeaders(request.headers),
        body,
        answer,
      });
    const reply = (answer: Answer, delayMs: number, injected: boolean): FakeReply => {
      const headers: Record<string, string> = { ...answer.headers, 'X-Request-Id': requestId };
      const jobStatus = headers['Job-Status'];
      record({ kind: 'status', status: answer.status, injected, ...(jobStatus === undefined ? {} : { jobStatus }) });
      return { kind: 'answer', status: answer.status, headers, body: answer.body, delayMs };
    };

    if (route.refusal !== undefined || route.operation === 'unknown') {
      return reply(route.refusal ?? messageAnswer(404), 0, false);
    }
    const operation = route.operation;
    const model = (): Answer => this.#model.answer(operation, route.jobId, request, query, now);
    const injected = this.#injections.take(operation, route.jobId);
    if (injected === undefined) return reply(model(), 0, false);
    const delayMs = injected.delayMs ?? 0;
    if ('fault' in injected) {
      if (injected.afterModel === true) model();
      record({ kind: 'fault', fault: injected.fault, injected: true });
      return { kind: 'fault', fault: injected.fault, delayMs };
    }
    if ('status' in injected) return reply(scriptedAnswer(injected), delayMs, true);
    return reply(model(), delayMs, false);
  }

  #route(method: string, path: string): Route {
    const allow = (expected: string, operation: ServerOperation, jobId?: number): Route => {
      const base = jobId === undefined ? { operation } : { operation, jobId };
      return method === expected
        ? base
        : { ...base, operation: 'unknown', refusal: messageAnswer(405, undefined, { Allow: expected }) };
    };
    if (path === '/api/v4/jobs/request') return allow('POST', 'request-job');
    if (path === '/api/v4/runners/verify') return allow('POST', 'verify-runner');
    const match = /^\/api\/v4\/jobs\/(\d+)(\/runner_status|\/trace)?$/.exec(path);
    if (match === null) return { operation: 'unknown' };
    const jobId = Number(match[1]);
    switch (match[2]) {
      case undefined:
        return allow('PUT', 'update-job', jobId);
      case '/trace':
        return allow('PATCH', 'patch-trace', jobId);
      default:
        // NOTE: only the proposed runner-status server has this route; elsewhere Rails knows no such path.
        if (this.#profile() !== 'runner-status') {
          return { operation: 'post-runner-status', jobId, refusal: messageAnswer(404) };
        }
        return allow('POST', 'post-runner-status', jobId);
    }
  }
}

/** The body for the log: a trace patch as text, JSON with its tokens as secrets, `undefined` when empty or unreadable. */
function loggableBody(operation: Route['operation'], raw: FakeHttpRequest['body']): unknown {
  if (operation === 'patch-trace') return bodyText(raw) || undefined;
  const parsed = parseJsonBody(raw);
  return parsed.invalid ? undefined : loggableJson(parsed.value);
}
