import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfirmedJob, JobPayload } from '@runner-core/core';
import { defaultMaskedValue, type JobSpec } from '@runner-core/core/simulation';
import { aJobPayload, FakeClock } from '@runner-core/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShellExecutor, type ShellExecutorOptions } from '../../src/executors/shell-executor.js';
import { shellScript } from '../../src/executors/shell-script.js';
import { aConfirmedJob, eventually, TextSink } from '../support/jobs.js';

/*
 * The shell executor with a real bash, as GitLab users rely on gitlab-runner's (docs/gitlab-protocol.md §3.3).
 * Timeouts run on a fake clock, advanced once the script is known to run: no test waits for a timeout for real.
 */

describe('shellScript', () => {
  it('sources the variables, enters the project, runs in strict mode and echoes each command uninterpreted', () => {
    const script = shellScript(["echo 'it''s' $HOME"], { variablesFile: '/tmp/v.sh', workDir: '/b/p' });
    expect(script.startsWith(". '/tmp/v.sh'\ncd '/b/p'\nset -eo pipefail\n")).toBe(true);
    expect(script).toContain(`'$ echo '\\''it'\\'''\\''s'\\'' $HOME'`);
  });

  it('echoes only the first line of a multi-line command, as gitlab-runner', () => {
    expect(shellScript(['if true; then\n  echo yes\nfi'])).toContain('$ if true; then # collapsed multi-line command');
  });
});

describe('ShellExecutor (real bash)', () => {
  let baseDir: string;
  beforeEach(() => {
    baseDir = mkdtempSync(join(tmpdir(), 'runner-core-shell-test-'));
  });
  afterEach(async () => {
    // Every build folder is removed after its job.
    expect(await readdir(baseDir)).toEqual([]);
  });

  const run = async (
    job: ConfirmedJob,
    options: ShellExecutorOptions = {},
    signal = new AbortController().signal,
  ): Promise<{ result: Awaited<ReturnType<ShellExecutor['execute']>>; text: string }> => {
    const trace = new TextSink();
    const result = await new ShellExecutor({ baseDir, ...options }).execute(job, { signal, trace });
    return { result, text: trace.text };
  };
  const withSteps = (steps: JobPayload['steps'], spec: JobSpec = {}): Promise<ConfirmedJob> =>
    aConfirmedJob({}, { ...aJobPayload({ spec }), steps });

  it('runs the script step in CI_PROJECT_DIR with the job variables and reports success', async () => {
    const job = await aConfirmedJob({ script: ['echo "id=$CI_JOB_ID"', 'echo "pwd=$PWD"', 'true'] });
    const { result, text } = await run(job);
    expect(result).toEqual({ kind: 'success' });
    expect(text).toContain(`id=${job.id}`);
    expect(text).toMatch(new RegExp(`pwd=${baseDir}/runner-core-job-${job.id}-[^/]+/builds/acme/demo\\n`));
    expect(text).toContain('$ echo "id=$CI_JOB_ID"');
    expect(text).toContain('Job succeeded');
  });

  it("sets gitlab-runner's predefined variables", async () => {
    const names = [
      'CI',
      'GITLAB_CI',
      'CI_SERVER',
      'CI_JOB_STATUS',
      'CI_JOB_TIMEOUT',
      'CI_CONCURRENT_ID',
      'CI_CONCURRENT_PROJECT_ID',
      'CI_SHARED_ENVIRONMENT',
      'CI_RUNNER_VERSION',
      'CI_RUNNER_REVISION',
      'CI_RUNNER_SHORT_TOKEN',
      'CI_RUNNER_EXECUTABLE_ARCH',
    ];
    const job = await aConfirmedJob({
      script: [
        ...names.map((name) => `echo "${name}=$${name}"`),
        'test "$CI_PROJECT_DIR" = "$PWD" && echo project-dir-ok',
        'case "$CI_PROJECT_DIR" in "$CI_BUILDS_DIR"/*) echo builds-dir-ok;; esac',
        'test -d "$RUNNER_TEMP_PROJECT_DIR" && echo tmp-dir-ok',
      ],
      timeoutSeconds: 600,
    });
    const runner = { version: '9.9.9', revision: 'abc123', shortToken: 'xYz12345', executableArch: 'linux/arm64' };
    const { text } = await run(job, { runner });
    for (const line of [
      'CI=true',
      'GITLAB_CI=true',
      'CI_SERVER=yes',
      'CI_JOB_STATUS=running',
      'CI_JOB_TIMEOUT=600',
      'CI_CONCURRENT_ID=0',
      'CI_CONCURRENT_PROJECT_ID=0',
      'CI_SHARED_ENVIRONMENT=true',
      'CI_RUNNER_VERSION=9.9.9',
      'CI_RUNNER_REVISION=abc123',
      'CI_RUNNER_SHORT_TOKEN=xYz12345',
      'CI_RUNNER_EXECUTABLE_ARCH=linux/arm64',
      'project-dir-ok',
      'builds-dir-ok',
      'tmp-dir-ok',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
  });

  it('expands variables as gitlab-runner does, except raw ones; a job cannot move CI_RUNNER_VERSION', async () => {
    const job = await aConfirmedJob({
      script: ['echo "tools=$TOOLS"', 'echo "raw=$LITERAL"', 'echo "price=$PRICE"', 'echo "v=$CI_RUNNER_VERSION"'],
      variables: [
        { key: 'TOOLS', value: '$CI_PROJECT_DIR/tools' },
        { key: 'LITERAL', value: '$CI_PROJECT_DIR', raw: true },
        { key: 'PRICE', value: '$$5' },
        { key: 'CI_RUNNER_VERSION', value: 'spoofed' },
      ],
    });
    const { text } = await run(job, { runner: { version: '1.2.3', revision: 'r', executableArch: 'linux/amd64' } });
    expect(text).toMatch(/tools=\/.+\/builds\/acme\/demo\/tools\n/);
    expect(text).toContain('raw=$CI_PROJECT_DIR\n');
    expect(text).toContain('price=$5\n');
    expect(text).toContain('v=1.2.3\n');
  });

  it('takes a variable larger than the operating system lets an environment entry be (1 MiB)', async () => {
    const big = 'x'.repeat(1024 * 1024);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
    const job = await aConfirmedJob({ script: ['echo "size=${#BIG}"'], variables: [{ key: 'BIG', value: big }] });
    const { result, text } = await run(job);
    expect(result).toEqual({ kind: 'success' });
    expect(text).toContain(`size=${big.length}\n`);
  });

  it('skips a variable whose name a shell cannot set', async () => {
    const job = await aConfirmedJob({
      script: ['echo ok'],
      variables: [
        { key: '', value: 'no name' },
        { key: 'BAD-NAME', value: 'x' },
      ],
    });
    expect((await run(job)).result).toEqual({ kind: 'success' });
  });

  it('fails with script_failure and the exit code, stopping at the first failing command', async () => {
    const job = await aConfirmedJob({ script: ['echo before', 'exit 7', 'echo never'] });
    const { result, text } = await run(job);
    expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 7 });
    expect(text).toContain('before');
    expect(text).not.toContain('never\n');
    expect(text).toContain('ERROR: Job failed: exit code 7');
  });

  it('fails on a failing pipeline (pipefail)', async () => {
    const job = await aConfirmedJob({ script: ['false | true'] });
    expect((await run(job)).result).toMatchObject({ kind: 'failed', exitCode: 1 });
  });

  it('writes raw output: masking belongs to the job session, which hands it a masked sink', async () => {
    // NOTE: the redaction scenario runs this executor through the whole lifecycle and finds only [MASKED] there.
    const job = await aConfirmedJob({ script: ['echo "pw=$DEPLOY_PASSWORD"'] });
    expect((await run(job)).text).toContain(`pw=${defaultMaskedValue}`);
  });

  it("does not pass the runner's own environment (its token, under either name) to the job", async () => {
    process.env.RUNNER_CORE_TOKEN = 'glrt-must-not-leak';
    process.env.CI_SERVER_TOKEN = 'glrt-must-not-leak-either';
    try {
      const job = await aConfirmedJob({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansions, not JS templates.
        script: ['echo "token=${RUNNER_CORE_TOKEN:-unset} alias=${CI_SERVER_TOKEN:-unset}"'],
      });
      expect((await run(job)).text).toContain('token=unset alias=unset');
    } finally {
      delete process.env.RUNNER_CORE_TOKEN;
      delete process.env.CI_SERVER_TOKEN;
    }
  });

  it('writes file variables to files (0600) beside the project, the variable holding the path', async () => {
    const job = await aConfirmedJob({
      script: ['cat "$CONFIG_FILE"; echo', 'stat -c %a "$CONFIG_FILE"', 'echo "at=$CONFIG_FILE"'],
      variables: [{ key: 'CONFIG_FILE', value: 'file-content', file: true }],
    });
    const { text } = await run(job);
    expect(text).toContain('file-content\n');
    expect(text).toContain('600\n');
    expect(text).toMatch(/at=\/.+\/builds\/acme\/demo\.tmp\/CONFIG_FILE\n/);
  });

  it('folds each stage into a collapsible section of the trace', async () => {
    const job = await aConfirmedJob({ script: ['echo hi'], afterScript: ['echo after'] });
    const { text } = await run(job);
    const sections = [...text.matchAll(/section_(start|end):\d+:([a-z_]+)\r/g)].map(
      (match) => `${match[1]} ${match[2]}`,
    );
    expect(sections).toEqual([
      'start prepare_executor',
      'end prepare_executor',
      'start prepare_script',
      'end prepare_script',
      'start step_script',
      'end step_script',
      'start after_script',
      'end after_script',
      'start cleanup_file_variables',
      'end cleanup_file_variables',
    ]);
  });

  describe('after_script', () => {
    it('runs after success with CI_JOB_STATUS=success', async () => {
      const job = await aConfirmedJob({ script: ['true'], afterScript: ['echo "status=$CI_JOB_STATUS"'] });
      const { result, text } = await run(job);
      expect(result).toEqual({ kind: 'success' });
      expect(text).toContain('status=success\n');
    });

    it('runs after a failure with CI_JOB_STATUS=failed; the result stays the script’s', async () => {
      const job = await aConfirmedJob({ script: ['exit 3'], afterScript: ['echo "status=$CI_JOB_STATUS"'] });
      const { result, text } = await run(job);
      expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 3 });
      expect(text).toContain('status=failed\n');
    });

    it('a failing after_script warns and leaves the job successful', async () => {
      const job = await aConfirmedJob({ script: ['true'], afterScript: ['exit 9'] });
      const { result, text } = await run(job);
      expect(result).toEqual({ kind: 'success' });
      expect(text).toContain('WARNING: after_script failed, but job will continue unaffected: exit code 9');
    });

    it('runs after a cancel with CI_JOB_STATUS=canceled', async () => {
      const job = await aConfirmedJob({
        script: ['echo started', 'sleep 30'],
        afterScript: ['echo "status=$CI_JOB_STATUS"'],
      });
      const trace = new TextSink();
      const cancel = new AbortController();
      const running = new ShellExecutor({ baseDir, killGraceMs: 2_000 }).execute(job, { signal: cancel.signal, trace });
      await eventually(() => trace.text.includes('started\n'), 5_000, 'the script to start');
      cancel.abort('canceled');
      expect(await running).toMatchObject({ kind: 'failed', exitCode: 143 });
      expect(trace.text).toContain('status=canceled\n');
    });

    it('does not run when the runner shuts down', async () => {
      const job = await aConfirmedJob({ script: ['echo started', 'sleep 30'], afterScript: ['echo after-ran'] });
      const trace = new TextSink();
      const stop = new AbortController();
      const running = new ShellExecutor({ baseDir, killGraceMs: 2_000 }).execute(job, { signal: stop.signal, trace });
      await eventually(() => trace.text.includes('started\n'), 5_000, 'the script to start');
      stop.abort('shutdown');
      await running;
      expect(trace.text).not.toContain('after-ran');
      expect(trace.text).toContain('Skipping after_script: the job stopped (shutdown)');
    });

    it('is stopped at its own bound (RUNNER_AFTER_SCRIPT_TIMEOUT), the job going on', async () => {
      const clock = new FakeClock();
      const job = await aConfirmedJob({
        script: ['true'],
        afterScript: ['echo after-started', 'sleep 30'],
        variables: [{ key: 'RUNNER_AFTER_SCRIPT_TIMEOUT', value: '10s' }],
      });
      const trace = new TextSink();
      const running = new ShellExecutor({ baseDir, clock }).execute(job, {
        signal: new AbortController().signal,
        trace,
      });
      await eventually(() => trace.text.includes('after-started\n'), 5_000, 'the after_script to start');
      await clock.advance(9_000);
      expect(trace.text).not.toContain('timed out');
      await clock.advance(1_000);
      expect(await running).toEqual({ kind: 'success' });
      expect(trace.text).toContain('WARNING: after_script timed out after 10 seconds; the job goes on');
    });
  });

  describe('steps', () => {
    const step = (name: string, script: string[], extra: Record<string, unknown> = {}) => ({
      name,
      script,
      when: 'on_success',
      allow_failure: false,
      ...extra,
    });

    it('run in order; on_failure only after a failure, always always, an unknown when as on_success', async () => {
      const job = await withSteps([
        step('script', ['echo one', 'exit 4']),
        step('release', ['echo release-ran']),
        step('notify', ['echo notify-ran'], { when: 'on_failure' }),
        step('report', ['echo report-ran'], { when: 'always' }),
        step('future', ['echo future-ran'], { when: 'on_timeout' }),
      ]);
      const { result, text } = await run(job);
      expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 4 });
      expect(text).not.toContain('release-ran');
      expect(text).toContain('notify-ran');
      expect(text).toContain('report-ran');
      expect(text).not.toContain('future-ran');
      expect(text).toContain('section_start:');
      expect(text).toContain(':step_notify\r');
      expect(text).not.toContain(':step_release');
    });

    it('a step allowed to fail warns and the job goes on', async () => {
      const job = await withSteps([
        step('script', ['true']),
        step('lint', ['exit 2'], { allow_failure: true }),
        step('release', ['echo release-ran']),
      ]);
      const { result, text } = await run(job);
      expect(result).toEqual({ kind: 'success' });
      expect(text).toContain('WARNING: step lint failed (exit code 2), which it is allowed to');
      expect(text).toContain('release-ran');
    });

    it('a step is stopped at its own timeout, reported as job_execution_timeout', async () => {
      const clock = new FakeClock();
      const job = await withSteps([step('script', ['echo started', 'sleep 30'], { timeout: 20 })], {
        timeoutSeconds: 3_600,
      });
      const trace = new TextSink();
      const running = new ShellExecutor({ baseDir, clock }).execute(job, {
        signal: new AbortController().signal,
        trace,
      });
      await eventually(() => trace.text.includes('started\n'), 5_000, 'the script to start');
      await clock.advance(20_000);
      expect(await running).toMatchObject({ kind: 'failed', failureReason: 'job_execution_timeout' });
      expect(trace.text).toContain('ERROR: Job failed: step script took longer than its timeout of 20 seconds');
    });
  });

  it('stops at the job timeout with job_execution_timeout, and still runs the after_script', async () => {
    const clock = new FakeClock();
    const job = await aConfirmedJob({
      script: ['echo started', 'sleep 30'],
      afterScript: ['echo "status=$CI_JOB_STATUS"'],
      timeoutSeconds: 60,
    });
    const trace = new TextSink();
    const running = new ShellExecutor({ baseDir, clock }).execute(job, { signal: new AbortController().signal, trace });
    await eventually(() => trace.text.includes('started\n'), 5_000, 'the script to start');
    await clock.advance(60_000);
    expect(await running).toMatchObject({ kind: 'failed', failureReason: 'job_execution_timeout' });
    expect(trace.text).toContain('ERROR: Job failed: execution took longer than 60 seconds');
    expect(trace.text).toContain('status=failed\n');
  });

  it('kills the whole process group within the grace period when the signal aborts', async () => {
    const job = await aConfirmedJob({ script: ['sleep 30 & echo started; wait'] });
    const trace = new TextSink();
    const abort = new AbortController();
    const running = new ShellExecutor({ baseDir, killGraceMs: 2_000 }).execute(job, { signal: abort.signal, trace });
    await eventually(() => trace.text.includes('started'), 5_000, 'the script to start');
    const before = Date.now();
    abort.abort('canceled');
    const result = await running;
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(result).toMatchObject({ kind: 'failed', failureReason: 'script_failure', exitCode: 143 });
  });

  it('refuses a payload without a script step', async () => {
    const job = await withSteps([]);
    const { result, text } = await run(job);
    expect(result).toEqual({ kind: 'failed', failureReason: 'runner_system_failure' });
    expect(text).toContain('no "script" step');
  });

  it('says in words why bash could not start', async () => {
    const job = await aConfirmedJob({ script: ['true'] });
    await expect(run(job, { bash: '/nonexistent/bash' })).rejects.toMatchObject({
      name: 'ExecutorError',
      code: 'executor.start',
      message: 'could not start /nonexistent/bash: no such program or working folder (ENOENT)',
    });
  });

  it('says in words why the build folder could not be made', async () => {
    const job = await aConfirmedJob({ script: ['true'] });
    const error = await new ShellExecutor({ baseDir: join(baseDir, 'missing', 'deeper') })
      .execute(job, { signal: new AbortController().signal, trace: new TextSink() })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ExecutorError', code: 'executor.prepare' });
    expect((error as Error).message).toContain(
      `could not make the build folder in ${join(baseDir, 'missing', 'deeper')}`,
    );
  });
});
