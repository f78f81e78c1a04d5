import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMaskedValue } from '@runner-core/core/simulation';
import { aJobPayload } from '@runner-core/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecExecutor } from '../src/executors/exec-executor.js';
import { ShellExecutor, shellScript } from '../src/executors/shell-executor.js';
import { aConfirmedJob, eventually, TextSink } from './support/jobs.js';

describe('shellScript', () => {
  it('runs in strict mode and echoes each command without interpreting it', () => {
    const script = shellScript(["echo 'it''s' $HOME"]);
    expect(script.startsWith('set -eo pipefail\n')).toBe(true);
    expect(script).toContain(`'$ echo '\\''it'\\'''\\''s'\\'' $HOME'`);
  });
});

describe('ShellExecutor (real bash)', () => {
  let baseDir: string;
  beforeEach(() => {
    baseDir = mkdtempSync(join(tmpdir(), 'runner-core-shell-test-'));
  });
  afterEach(async () => {
    // Every build directory is removed after its job.
    expect(await readdir(baseDir)).toEqual([]);
  });

  it('runs the script step with the job variables and reports success', async () => {
    const job = await aConfirmedJob({ script: ['echo "id=$CI_JOB_ID"', 'echo "dir=$(basename "$PWD")"', 'true'] });
    const trace = new TextSink();
    const result = await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(result).toEqual({ kind: 'success' });
    expect(trace.text).toContain(`id=${job.id}`);
    expect(trace.text).toContain(`dir=runner-core-job-${job.id}-`);
    expect(trace.text).toContain('$ echo "id=$CI_JOB_ID"');
    expect(trace.text).toContain('Job succeeded');
  });

  it('fails with script_failure and the exit code, stopping at the first failing command', async () => {
    const job = await aConfirmedJob({ script: ['echo before', 'exit 7', 'echo never'] });
    const trace = new TextSink();
    const result = await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 7 });
    expect(trace.text).toContain('before');
    expect(trace.text).not.toContain('never\n');
  });

  it('fails on a failing pipeline (pipefail)', async () => {
    const job = await aConfirmedJob({ script: ['false | true'] });
    const result = await new ShellExecutor({ baseDir }).execute(job, {
      signal: new AbortController().signal,
      trace: new TextSink(),
    });
    expect(result).toMatchObject({ kind: 'failed', exitCode: 1 });
  });

  it('writes raw output: masking belongs to the job session, which hands it a masked sink', async () => {
    // NOTE: the redaction scenario runs this executor through the whole lifecycle and finds only [MASKED] there.
    const job = await aConfirmedJob({ script: ['echo "pw=$DEPLOY_PASSWORD"'] });
    const trace = new TextSink();
    await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(trace.text).toContain(`pw=${defaultMaskedValue}`);
  });

  it("does not pass the runner's own environment (its token) to the job", async () => {
    process.env.RUNNER_CORE_TOKEN = 'glrt-must-not-leak';
    try {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion, not a JS template.
      const job = await aConfirmedJob({ script: ['echo "token=${RUNNER_CORE_TOKEN:-unset}"'] });
      const trace = new TextSink();
      await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
      expect(trace.text).toContain('token=unset');
    } finally {
      delete process.env.RUNNER_CORE_TOKEN;
    }
  });

  it('writes file variables to files', async () => {
    const payload = aJobPayload({
      spec: {
        script: ['cat "$CONFIG_FILE"', 'stat -c %a "$CONFIG_FILE"'],
        variables: [{ key: 'CONFIG_FILE', value: 'file-content', file: true }],
      },
    });
    const job = await aConfirmedJob({}, payload);
    const trace = new TextSink();
    await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(trace.text).toContain('file-content');
    expect(trace.text).toContain('600');
  });

  it('kills the whole process group when the signal aborts', async () => {
    const job = await aConfirmedJob({ script: ['sleep 30 & echo started; wait'] });
    const trace = new TextSink();
    const abort = new AbortController();
    const running = new ShellExecutor({ baseDir, killGraceMs: 2_000 }).execute(job, { signal: abort.signal, trace });
    await eventually(() => trace.text.includes('started'), 5_000, 'the script to start');
    const before = Date.now();
    abort.abort();
    const result = await running;
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(result).toMatchObject({ kind: 'failed', failureReason: 'script_failure', exitCode: 143 });
  });

  it('fails with job_execution_timeout after the job timeout', async () => {
    const job = await aConfirmedJob({ script: ['sleep 5'], timeoutSeconds: 1 });
    const trace = new TextSink();
    const result = await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(result).toMatchObject({ kind: 'failed', failureReason: 'job_execution_timeout' });
    expect(trace.text).toContain('execution took longer than 1 seconds');
  });

  it('refuses a payload without a script step', async () => {
    const job = await aConfirmedJob({}, { ...aJobPayload(), steps: [] });
    const trace = new TextSink();
    const result = await new ShellExecutor({ baseDir }).execute(job, { signal: new AbortController().signal, trace });
    expect(result).toEqual({ kind: 'failed', failureReason: 'runner_system_failure' });
    expect(trace.text).toContain('no "script" step');
  });
});

describe('ExecExecutor (real bash)', () => {
  it('hands the payload to the command on stdin; its output is raw (the job session masks it)', async () => {
    const job = await aConfirmedJob({ script: ['ignored'] });
    const trace = new TextSink();
    const executor = new ExecExecutor({
      command: 'payload=$(cat); echo "id=$RUNNER_CORE_JOB_ID"; echo "$payload" | grep -o "hunter2[a-z-]*"',
    });
    const result = await executor.execute(job, { signal: new AbortController().signal, trace });
    expect(result).toEqual({ kind: 'success' });
    expect(trace.text).toContain(`id=${job.id}`);
    expect(trace.text).toContain(defaultMaskedValue);
  });

  it('reports a failing command as script_failure with its exit code', async () => {
    const job = await aConfirmedJob();
    const result = await new ExecExecutor({ command: 'exit 3' }).execute(job, {
      signal: new AbortController().signal,
      trace: new TextSink(),
    });
    expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 3 });
  });

  it('refuses an empty command', () => {
    expect(() => new ExecExecutor({ command: ' ' })).toThrow('command must not be empty');
  });
});
