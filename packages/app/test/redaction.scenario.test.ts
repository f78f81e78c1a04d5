import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { shortToken } from '@runner-core/core';
import { defaultMaskedValue } from '@runner-core/core/simulation';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/cli.js';
import type { CliIo } from '../src/cli/cli-io.js';
import { LogCapture } from './support/scene.js';

/** Runs the CLI in this process, capturing everything it prints and logs. */
async function cli(argv: readonly string[], env: Record<string, string> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs = new LogCapture();
  const io: CliIo = {
    env: { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'runner-core-redaction-state-')), ...env },
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    onSignal: () => () => {},
    logDestination: logs,
  };
  const code = await runCli(argv, io);
  return { code, stdout: stdout.join(''), stderr: stderr.join(''), logs: logs.text };
}

describe('tokens and masked values never leak', () => {
  let server: FakeGitLabServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('through logs (at trace level), --json events or the trace of a full run', async () => {
    const gitlab = new FakeGitLab({ profile: 'two-phase' });
    const { id, token: jobToken } = gitlab.enqueueJob({
      script: ['echo "password=$DEPLOY_PASSWORD"', 'echo "job token=$CI_JOB_TOKEN"', 'exit 4'],
    });
    server = await FakeGitLabServer.start({ gitlab });
    const runnerToken = gitlab.runnerToken;

    const result = await cli(
      ['run', '--once', '--json', '--log-level', 'trace', '--probe', '--url', server.url],
      // The token comes from the environment, as it would in production.
      { RUNNER_CORE_TOKEN: runnerToken },
    );

    expect(result.code).toBe(0);
    expect(gitlab.job(id)).toMatchObject({ status: 'failed', exitCode: 4 });
    const trace = gitlab.traceText(id);
    expect(trace).toContain('password=[MASKED]');
    expect(trace).toContain('job token=[MASKED]');

    const everything = [result.stdout, result.stderr, result.logs, trace].join('\n');
    expect(result.logs.length).toBeGreaterThan(1_000);
    for (const secret of [runnerToken, jobToken.reveal(), defaultMaskedValue]) {
      expect(everything).not.toContain(secret);
    }
    // The runner token appears in its short form only.
    expect(result.logs).toContain(shortToken(runnerToken));

    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string });
    expect(events.map((event) => event.event)).toEqual([
      'job.received',
      'keep-alive.sent',
      'keep-alive.answered',
      'confirm.attempt',
      'confirm.answered',
      'job.outcome',
      'job.finished',
    ]);
    expect(events.find((event) => event.event === 'job.outcome')).toEqual({
      event: 'job.outcome',
      jobId: id,
      outcome: 'confirmed',
      mode: 'two-phase',
      strategy: 'state-put',
      attempts: 1,
      elapsedMs: expect.any(Number),
    });
    expect(Object.keys(events.find((event) => event.event === 'job.outcome') ?? {})).toEqual([
      'event',
      'jobId',
      'outcome',
      'mode',
      'strategy',
      'attempts',
      'elapsedMs',
    ]);
  });

  it('through the confirm command', async () => {
    const gitlab = new FakeGitLab({ profile: 'legacy' });
    server = await FakeGitLabServer.start({ gitlab });
    const { id, token } = gitlab.enqueueJob();
    const result = await cli(['confirm', '--url', server.url, '--job-id', String(id), '--log-level', 'trace'], {
      RUNNER_CORE_JOB_TOKEN: token.reveal(),
    });
    // The job was never handed out: GitLab refuses the job token (403) and the job is gone.
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^job ${id}: gone: `));
    expect([result.stdout, result.stderr, result.logs].join('\n')).not.toContain(token.reveal());
  });
});
