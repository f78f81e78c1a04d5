import { readFileSync } from 'node:fs';
import { type RunnerCredentials, Secret } from '@runner-core/core';
import { FakeClock } from '@runner-core/core/testing';

/** The runner token of every test: must never show up in a log line or an error. */
export const RUNNER_TOKEN = 'glrt-RUNNERsecretTOKEN12345';
/** The job token of `jobs-request.201.json`. */
export const JOB_TOKEN = 'glcbt-JOBsecretTOKEN67890';
/** The masked variable value of `jobs-request.201.json`. */
export const MASKED_VALUE = 'MASKED-s3cr3t-VALUE';
/** The GitLab every nock test talks to. */
export const GITLAB = 'https://gitlab.example.com';

export const runnerCredentials = (token = RUNNER_TOKEN): RunnerCredentials => ({
  token: new Secret(token),
  systemId: 's_0123456789ab',
});

export const jobCredentials = (id = 4242, token = JOB_TOKEN) => ({ id, token: new Secret(token) });

/** A fixture of `test/__fixtures__`, as text. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`../__fixtures__/${name}`, import.meta.url), 'utf8');
}

/** A JSON fixture of `test/__fixtures__`, parsed. */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}

/** The path of a fixture file, for options that take a file. */
export function fixturePath(name: string): string {
  return new URL(`../__fixtures__/${name}`, import.meta.url).pathname;
}

/** Request ids handed out in order: `id-1`, `id-2`, … padded to the 32-hex format. */
export function sequentialIds(): () => string {
  let next = 0;
  return () => (++next).toString(16).padStart(32, '0');
}

/** 2026-01-01T00:00:00Z, where {@link fakeClock} starts. */
export const NOW = 1_767_225_600_000;

/** A clock at {@link NOW} that moves only when told: the adapter reads it for header dates and never waits on it. */
export const fakeClock = (): FakeClock => new FakeClock(NOW);
