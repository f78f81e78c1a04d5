import { mkdtempSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMaskedValue } from '@runner-core/core/simulation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecExecutor } from '../../src/executors/exec-executor.js';
import { aConfirmedJob, TextSink } from '../support/jobs.js';

describe('ExecExecutor (real bash)', () => {
  let baseDir: string;
  beforeEach(() => {
    baseDir = mkdtempSync(join(tmpdir(), 'runner-core-exec-test-'));
  });
  afterEach(async () => {
    expect(await readdir(baseDir)).toEqual([]);
  });

  it('hands the payload to the command on stdin; its output is raw (the job session masks it)', async () => {
    const job = await aConfirmedJob({ script: ['ignored'] });
    const trace = new TextSink();
    const executor = new ExecExecutor({
      baseDir,
      command: 'payload=$(cat); echo "id=$RUNNER_CORE_JOB_ID"; echo "$payload" | grep -o "hunter2[a-z-]*"',
    });
    const result = await executor.execute(job, { signal: new AbortController().signal, trace });
    expect(result).toEqual({ kind: 'success' });
    expect(trace.text).toContain(`id=${job.id}`);
    expect(trace.text).toContain(defaultMaskedValue);
  });

  it('runs in the project folder with the predefined variables', async () => {
    const job = await aConfirmedJob();
    const trace = new TextSink();
    await new ExecExecutor({
      baseDir,
      command: 'test "$PWD" = "$CI_PROJECT_DIR" && echo "in-project $CI_SERVER $CI_CONCURRENT_ID"',
    }).execute(job, { signal: new AbortController().signal, trace });
    expect(trace.text).toContain('in-project yes 0\n');
  });

  it('reports a failing command as script_failure with its exit code', async () => {
    const job = await aConfirmedJob();
    const result = await new ExecExecutor({ baseDir, command: 'exit 3' }).execute(job, {
      signal: new AbortController().signal,
      trace: new TextSink(),
    });
    expect(result).toEqual({ kind: 'failed', failureReason: 'script_failure', exitCode: 3 });
  });

  it('says in words, naming the variable, that the environment is too large for the operating system', async () => {
    const job = await aConfirmedJob({ variables: [{ key: 'HUGE_VALUE', value: 'x'.repeat(1024 * 1024) }] });
    const error = await new ExecExecutor({ baseDir, command: 'true' })
      .execute(job, { signal: new AbortController().signal, trace: new TextSink() })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ExecutorError', code: 'executor.start' });
    expect((error as Error).message).toMatch(
      /^could not start bash: its environment is larger than the operating system allows \(E2BIG.*the largest is HUGE_VALUE \(1048588 bytes\)$/,
    );
  });

  it('refuses an empty command', () => {
    expect(() => new ExecExecutor({ command: ' ' })).toThrow('command must not be empty');
  });
});
