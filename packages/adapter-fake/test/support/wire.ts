import { runnerInfo } from '@runner-core/core';
import type { ServerProfile } from '@runner-core/core/simulation';
import { FakeClock } from '@runner-core/core/testing';
import { FakeGitLab, type FakeGitLabOptions, type FakeReply } from '../../src/index.js';

/** A fake GitLab on a fake clock. */
export function aFake(
  profile: ServerProfile,
  options: Partial<FakeGitLabOptions> = {},
): { readonly gitlab: FakeGitLab; readonly clock: FakeClock } {
  const clock = new FakeClock();
  return { gitlab: new FakeGitLab({ profile, clock, ...options }), clock };
}

export const systemId = 's_0123456789ab';

/** An HTTP answer of the fake (fails the test when the reply is a fault). */
export function answerOf(reply: FakeReply): Extract<FakeReply, { kind: 'answer' }> {
  if (reply.kind !== 'answer') throw new Error(`expected an answer, got the fault ${reply.fault}`);
  return reply;
}

/** `POST /api/v4/jobs/request` as gitlab-runner sends it. */
export function requestJob(
  gitlab: FakeGitLab,
  fields: { token?: string; header?: string; lastUpdate?: string; twoPhase?: boolean; systemId?: string } = {},
): FakeReply {
  const token = fields.token ?? gitlab.runnerToken;
  const info = runnerInfo();
  return gitlab.handle({
    method: 'POST',
    url: '/api/v4/jobs/request',
    headers: { 'RUNNER-TOKEN': fields.header ?? token, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      token,
      system_id: fields.systemId ?? systemId,
      ...(fields.lastUpdate === undefined ? {} : { last_update: fields.lastUpdate }),
      info: fields.twoPhase === false ? { ...info, features: { ...info.features, two_phase_job_commit: false } } : info,
    }),
  });
}

/** `PUT /api/v4/jobs/:id` with a JSON body (the token in the body unless `tokenIn: 'header'`). */
export function putJob(
  gitlab: FakeGitLab,
  id: number,
  token: string,
  body: Record<string, unknown>,
  tokenIn: 'body' | 'header' = 'body',
): FakeReply {
  return gitlab.handle({
    method: 'PUT',
    url: `/api/v4/jobs/${id}`,
    headers: { 'Content-Type': 'application/json', ...(tokenIn === 'header' ? { 'JOB-TOKEN': token } : {}) },
    body: JSON.stringify({ info: runnerInfo(), ...(tokenIn === 'body' ? { token } : {}), ...body }),
  });
}

/** `POST /api/v4/jobs/:id/runner_status`. */
export function postRunnerStatus(gitlab: FakeGitLab, id: number, token: string, status: string): FakeReply {
  return gitlab.handle({
    method: 'POST',
    url: `/api/v4/jobs/${id}/runner_status`,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ info: runnerInfo(), token, status }),
  });
}

/** `PATCH /api/v4/jobs/:id/trace`. */
export function patchTrace(
  gitlab: FakeGitLab,
  id: number,
  token: string,
  text: string,
  start: number,
  extra: { debugTrace?: boolean; contentRange?: string | null } = {},
): FakeReply {
  const bytes = Buffer.from(text);
  const range = extra.contentRange === undefined ? `${start}-${start + bytes.byteLength - 1}` : extra.contentRange;
  return gitlab.handle({
    method: 'PATCH',
    url: `/api/v4/jobs/${id}/trace?debug_trace=${extra.debugTrace === true}`,
    headers: {
      'JOB-TOKEN': token,
      'Content-Type': 'text/plain',
      ...(range === null ? {} : { 'Content-Range': range }),
    },
    body: bytes,
  });
}
