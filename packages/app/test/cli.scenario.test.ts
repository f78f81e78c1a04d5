import { hostname } from 'node:os';
import { FakeGitLab, FakeGitLabServer, InMemoryNetwork } from '@runner-core/adapter-fake';
import { type JobPayload, runnerInfo, Secret, shortToken } from '@runner-core/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runToEnd, spawnCli } from './support/cli-process.js';
import { eventually } from './support/jobs.js';

beforeAll(() => buildCli(), 180_000);

let server: FakeGitLabServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(profile: 'legacy' | 'two-phase' | 'runner-status' = 'two-phase') {
  const gitlab = new FakeGitLab({ profile });
  server = await FakeGitLabServer.start({ gitlab });
  return { gitlab, url: server.url };
}

/** Another tool takes a job from the fake (the same model the HTTP server serves), as `confirm` expects. */
async function receivedElsewhere(gitlab: FakeGitLab): Promise<JobPayload> {
  const result = await new InMemoryNetwork({ gitlab }).requestJob({
    credentials: { token: new Secret(gitlab.runnerToken), systemId: 's_othertool001' },
    info: runnerInfo(),
  });
  if (result.kind !== 'job') throw new Error(`expected a job, got ${result.kind}`);
  return result.job;
}

describe('configuration errors (spawned)', () => {
  // Every message is unit-tested in config.test.ts; these check what reaches a terminal: one line, exit 2.
  it.each([
    [
      ['run', '--url', 'http://127.0.0.1:9', '--token', 't', '--concurrency', 'x'],
      {},
      '--concurrency: expected a positive integer, got "x"',
    ],
    [
      ['run', '--token', 't'],
      { RUNNER_CORE_URL: 'gitlab' },
      'RUNNER_CORE_URL: expected an http(s) URL such as https://gitlab.example.com, got "gitlab"',
    ],
    [
      ['run', '--url', 'https://127.0.0.1:9', '--token', 't', '--tls-ca-file', '/nonexistent/ca.pem'],
      {},
      '--tls-ca-file: "/nonexistent/ca.pem" cannot be read (ENOENT)',
    ],
  ])('%j exits 2 with one line and no stack trace', async (args, env, message) => {
    const result = await runToEnd(args, env);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `runner-core: ${message}\n` });
  });
});

describe('run --once (spawned, over HTTP)', () => {
  it('runs one job with the shell executor and prints NDJSON events, one per line', async () => {
    const { gitlab, url } = await serve();
    const { id } = gitlab.enqueueJob({ script: ['echo "from the spawned runner"'] });
    const result = await runToEnd(['run', '--once', '--json', '--url', url, '--check-interval', '50ms'], {
      RUNNER_CORE_TOKEN: gitlab.runnerToken,
    });
    expect(result.code).toBe(0);
    expect(gitlab.jobStatus(id)).toBe('success');
    expect(gitlab.traceText(id)).toContain('from the spawned runner');
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.find((event) => event.event === 'job.outcome')).toMatchObject({
      jobId: id,
      outcome: 'confirmed',
      strategy: 'state-put',
      attempts: 1,
    });
    expect(events.at(-1)).toMatchObject({ event: 'job.finished', jobId: id, state: 'success' });
    // Logs are JSON lines on stderr; the token appears only in its short form.
    expect(result.stderr).not.toContain(gitlab.runnerToken);
    expect(result.stderr).toContain(shortToken(gitlab.runnerToken));
  });

  it('exits 0 when no job is queued, and 1 when GitLab refuses the token — said once, before any job request', async () => {
    const { gitlab, url } = await serve();
    expect((await runToEnd(['run', '--once', '--url', url, '--token', gitlab.runnerToken])).code).toBe(0);
    const refused = await runToEnd(['run', '--once', '--url', url, '--token', 'glrt-unknown-token']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.match(/GitLab refused the runner token \(403 Forbidden\)/g)).toHaveLength(1);
    expect(gitlab.requests('verify-runner').map((request) => request.answer)).toMatchObject([
      { status: 200 },
      { status: 403 },
    ]);
    expect(gitlab.requests('request-job').map((request) => request.answer)).toMatchObject([{ status: 204 }]);
  });

  it('verify says of each runner whether GitLab knows its token, and exits 1 unless it knows them all', async () => {
    const { gitlab, url } = await serve();
    const alive = await runToEnd(['verify', '--url', url, '--token', gitlab.runnerToken]);
    expect(alive).toMatchObject({
      code: 0,
      stdout: `runner ${hostname()} (${shortToken(gitlab.runnerToken)}): is alive\n`,
    });
    const removed = await runToEnd(['verify', '--url', url], { CI_SERVER_TOKEN: 'glrt-unknownTokenOfNobody' });
    expect(removed.code).toBe(1);
    expect(removed.stdout).toContain('is removed: GitLab refused the runner token (403 Forbidden)');
    expect(removed.stdout + removed.stderr).not.toContain('glrt-unknownTokenOfNobody');
  });
});

describe('confirm (spawned, over HTTP)', () => {
  it('confirms a job another tool received, after keep-alives while --prepare runs, and exits 0', async () => {
    const { gitlab, url } = await serve();
    const { id } = gitlab.enqueueJob();
    const job = await receivedElsewhere(gitlab);
    expect(gitlab.jobStatus(id)).toBe('pending');
    const result = await runToEnd(
      ['confirm', '--url', url, '--job-id', String(id), '--keep-alive', '100ms', '--prepare', 'sleep 0.4'],
      { RUNNER_CORE_JOB_TOKEN: job.token.reveal() },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^job ${id}: confirmed \\(mode two-phase, strategy state-put, 1 attempt, \\d+ ms\\)\\n$`),
    );
    expect(gitlab.jobStatus(id)).toBe('running');
    const states = gitlab.requestsFor(id).map((request) => request.state);
    expect(states.filter((state) => state === 'pending').length).toBeGreaterThanOrEqual(2);
    expect(states.at(-1)).toBe('running');
    expect(result.stdout + result.stderr).not.toContain(job.token.reveal());
  });

  it('declines when --prepare fails: two-phase sends nothing, exit 1', async () => {
    const { gitlab, url } = await serve();
    const { id } = gitlab.enqueueJob();
    const job = await receivedElsewhere(gitlab);
    const result = await runToEnd([
      'confirm',
      '--json',
      '--url',
      url,
      '--job-id',
      String(id),
      '--job-token',
      job.token.reveal(),
      '--keep-alive',
      '100ms',
      '--prepare',
      'sleep 0.25; exit 3',
    ]);
    expect(result.code).toBe(1);
    const outcome = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((event) => event.event === 'job.outcome');
    expect(outcome).toMatchObject({ outcome: 'declined', mode: 'two-phase' });
    expect(gitlab.requestsFor(id).map((request) => request.state)).not.toContain('running');
    expect(gitlab.requestsFor(id).map((request) => request.state)).not.toContain('failed');
    expect(gitlab.job(id).waiting).toBe(true);
  });
});

describe('signals (spawned)', () => {
  it('first SIGINT: stops requesting, the running job finishes and is reported, exit 0', async () => {
    const { gitlab, url } = await serve();
    const { id } = gitlab.enqueueJob({ script: ['echo started', 'sleep 0.5', 'echo finished'] });
    const second = gitlab.enqueueJob().id;
    const cli = spawnCli(['run', '--url', url, '--token', gitlab.runnerToken, '--check-interval', '50ms']);
    await eventually(
      () => gitlab.traceText(id).includes('started') || cli.stderr().includes('job started'),
      10_000,
      'the job to start',
    );
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(gitlab.jobStatus(id)).toBe('success');
    expect(gitlab.traceText(id)).toContain('finished');
    expect(gitlab.jobStatus(second)).toBe('pending');
  });

  it('second SIGINT: aborts the running job and reports runner_system_failure, exit 0', async () => {
    const { gitlab, url } = await serve('legacy');
    const { id } = gitlab.enqueueJob({ script: ['echo started', 'sleep 30'] });
    const cli = spawnCli(['run', '--url', url, '--token', gitlab.runnerToken, '--check-interval', '50ms']);
    await eventually(() => cli.stderr().includes('job started'), 10_000, 'the job to start');
    cli.child.kill('SIGINT');
    await eventually(() => cli.stderr().includes('no new jobs'), 5_000, 'the first signal to be seen');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(gitlab.job(id)).toMatchObject({ status: 'failed', failureReason: 'runner_system_failure' });
  });
});

describe('sim (spawned)', () => {
  it('serves the fake on 127.0.0.1, prints URL, token and control endpoints, stops on SIGINT', async () => {
    const cli = spawnCli(['sim', '--port', '0', '--jobs', '2', '--profile', 'legacy', '--ack-window', '30s']);
    await eventually(() => cli.stdout().includes('Ctrl-C'), 10_000, 'the banner');
    const url = /URL: +(http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stdout())?.[1];
    expect(url).toBeDefined();
    expect(cli.stdout()).toMatch(/runner token: glrt-\S+ +\(a fake's token, printed on purpose\)/);
    expect(cli.stdout()).toContain(`POST ${url}/-/sim/jobs`);
    const jobs = (await (await fetch(`${url}/-/sim/jobs`)).json()) as unknown[];
    expect(jobs).toHaveLength(2);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('keeps the token given with --token, and the command its hint prints runs the queued job', async () => {
    const token = 'glrt-sameTokenEveryStart01';
    const cli = spawnCli(['sim', '--port', '0', '--jobs', '1', '--token', token]);
    try {
      await eventually(() => cli.stdout().includes('Ctrl-C'), 10_000, 'the banner');
      const hint = /^ {2}(pnpm runner-core run .*)$/m.exec(cli.stdout())?.[1];
      expect(hint).toContain(`--token ${token}`);
      // The hint without "pnpm " is the CLI's own command line: run it against the simulator.
      const args = (hint ?? '').replace(/^pnpm runner-core /, '').split(' ');
      const result = await runToEnd(args);
      expect(result.code).toBe(0);
      const url = /URL: +(\S+)/.exec(cli.stdout())?.[1];
      const jobs = (await (await fetch(`${url}/-/sim/jobs`)).json()) as Array<{ status: string }>;
      expect(jobs.map((job) => job.status)).toEqual(['success']);
    } finally {
      cli.child.kill('SIGINT');
      await cli.exited;
    }
  });
});
