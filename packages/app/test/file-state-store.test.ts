import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OutboxEntry, Secret } from '@runner-core/core';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../src/state/file-state-store.js';

const url = 'https://gitlab.example.com';
const fresh = () => mkdtempSync(join(tmpdir(), 'runner-core-store-test-'));
const job = (id: number) => ({ id, token: new Secret(`glcbt-store-test-token-${id}`) });
const entry = (id: number, tail = 'the tail\n'): OutboxEntry => ({
  job: job(id),
  state: 'failed',
  failureReason: 'script_failure',
  exitCode: 3,
  trace: { offset: 120, tail: new TextEncoder().encode(tail), checksum: 'crc32:0a0b0c0d', bytesize: 129 },
  finishedAt: 1_767_225_600_000,
});
const mode = (path: string) => statSync(path).mode & 0o777;

describe('FileStateStore', () => {
  it('keeps the journal and the outbox across instances, exactly as written', async () => {
    const dir = fresh();
    const runnerToken = new Secret('glrt-store-test-runner-1');
    const first = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken });
    await first.recordJob({ job: job(1), phase: 'running', mode: 'two-phase', receivedAt: 5 });
    await first.recordJob({ job: job(2), phase: 'pending', mode: 'unknown', receivedAt: 6 });
    await first.putFinalState(entry(1));
    await first.forgetJob(2);
    const again = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken });
    const { journal, outbox } = await again.load();
    expect(journal.map((line) => [line.job.id, line.phase, line.mode, line.job.token.reveal()])).toEqual([
      [1, 'running', 'two-phase', 'glcbt-store-test-token-1'],
    ]);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      state: 'failed',
      failureReason: 'script_failure',
      exitCode: 3,
      finishedAt: 1_767_225_600_000,
    });
    expect(outbox[0]?.trace).toMatchObject({ offset: 120, checksum: 'crc32:0a0b0c0d', bytesize: 129 });
    expect(new TextDecoder().decode(outbox[0]?.trace.tail)).toBe('the tail\n');
    await again.removeFinalState(1);
    expect(await again.load()).toEqual({ journal: [], outbox: [] });
  });

  it('writes 0600 files in 0700 folders, and no token into a file name', async () => {
    const dir = fresh();
    const store = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken: new Secret('glrt-store-test-perm') });
    await store.putFinalState(entry(7));
    const scope = FileStateStore.scopeDir({ dir, gitlabUrl: url, runnerToken: new Secret('glrt-store-test-perm') });
    expect(mode(dir)).toBe(0o700);
    expect(mode(scope)).toBe(0o700);
    expect(mode(join(scope, 'outbox'))).toBe(0o700);
    expect(mode(join(scope, 'outbox', '7.json'))).toBe(0o600);
    expect(scope).not.toContain('glrt-');
    expect(readdirSync(join(scope, 'outbox'))).toEqual(['7.json']);
  });

  it('lets runners share a directory without seeing each other’s entries', async () => {
    const dir = fresh();
    const mine = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken: new Secret('glrt-runner-a') });
    const theirs = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken: new Secret('glrt-runner-b') });
    const elsewhere = await FileStateStore.open({
      dir,
      gitlabUrl: 'https://other.example.com',
      runnerToken: new Secret('glrt-runner-a'),
    });
    await mine.putFinalState(entry(1));
    await theirs.putFinalState(entry(2));
    expect((await mine.load()).outbox.map((kept) => kept.job.id)).toEqual([1]);
    expect((await theirs.load()).outbox.map((kept) => kept.job.id)).toEqual([2]);
    expect((await elsewhere.load()).outbox).toEqual([]);
  });

  it('drops a temporary file a kill left behind and sets an unreadable entry aside, naming it', async () => {
    const dir = fresh();
    const runnerToken = new Secret('glrt-store-test-corrupt');
    const store = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken });
    const outbox = join(FileStateStore.scopeDir({ dir, gitlabUrl: url, runnerToken }), 'outbox');
    writeFileSync(join(outbox, '.9.json.123.abc.tmp'), '{"half');
    writeFileSync(join(outbox, '8.json'), '{"version":1,"job":{"id":"eight"}}');
    const logged: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (message: string, fields?: Record<string, unknown>) => logged.push(`${message} ${JSON.stringify(fields)}`),
      child: () => logger,
    };
    const reopened = await FileStateStore.open({ dir, gitlabUrl: url, runnerToken, logger });
    expect(await reopened.load()).toEqual({ journal: [], outbox: [] });
    expect(readdirSync(outbox).sort()).toEqual(['8.json.unreadable']);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('8.json');
    expect(readFileSync(join(outbox, '8.json.unreadable'), 'utf8')).toContain('eight');
    void store;
  });
});
