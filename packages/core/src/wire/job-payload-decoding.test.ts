import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../secret/secret.js';
import { decodeJobPayload, decodeParsedJobPayload, JobPayloadError } from './job-payload-decoding.js';

/*
 * The decoder against whole payloads (docs/gitlab-protocol.md §3): it accepts what gitlab-runner's Go decoder
 * accepts (null entries become empty ones, unknown enum strings and unknown fields are kept) and rejects what it
 * rejects (a value of the wrong type). The fixtures are described in __fixtures__/payloads/README.md.
 */

const payload = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`__fixtures__/payloads/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

// The copying decoder and the one that decodes a freshly parsed body in place must give the same payloads.
describe.each([
  ['decodeJobPayload', decodeJobPayload],
  ['decodeParsedJobPayload', decodeParsedJobPayload],
])('%s', (_name, decode) => {
  describe('payloads GitLab sends', () => {
    it('GitLab 11.4: "cache":[null] is one empty cache entry, null image and artifacts are absent', () => {
      const job = decode(payload('gitlab-11.4.json'));
      expect(job.id).toBe(31);
      expect(job.cache).toEqual([{}]);
      expect(job).not.toHaveProperty('image');
      expect(job).not.toHaveProperty('artifacts');
      expect(job.steps?.map((step) => [step.name, step.when])).toEqual([
        ['script', 'on_success'],
        ['after_script', 'always'],
      ]);
      expect(job.variables?.find((variable) => variable.key === 'DEPLOY_KEY')?.value).toBeInstanceOf(Secret);
    });

    it('every field gitlab-runner knows decodes, secrets wrapped wherever they sit', () => {
      const job = decode(payload('gitlab-runner-full.json'));
      const shown = `${JSON.stringify(job)}\n${inspect(job, { depth: 10 })}`;
      for (const secret of [
        'glcbt-full-sample-token',
        'api-key-masked-value',
        'image-masked-value',
        'glcbt-dependency-token',
      ]) {
        expect(shown).not.toContain(secret);
      }
      expect(job.git_info?.repo_url?.reveal()).toContain('glcbt-full-sample-token@');
      expect(job.variables?.map((variable) => variable.key)).toEqual(['CI_JOB_ID', 'KUBECONFIG', 'API_KEY', 'EMPTY']);
      expect(job.variables?.[1]).toMatchObject({ file: true, masked: false });
      expect(job.variables?.[3]).toEqual({ key: 'EMPTY', value: '', masked: false, public: false });
      expect(job.steps?.map((step) => step.name)).toEqual(['script', 'release', 'after_script']);
      expect(job.features?.failure_reasons).toContain('script_failure');
      expect(job.run).toBe('[{"name":"hello","script":"echo hi"}]');
      expect(job.inputs).toEqual([{ key: 'env', value: { type: 'string', content: 'staging' } }]);
    });

    it('a newer GitLab: unknown fields and an unknown step `when` are kept, null list entries are empty entries', () => {
      const job = decode(payload('newer-gitlab.json'));
      expect(job.steps?.[1]).toMatchObject({ name: 'notify', when: 'on_timeout' });
      expect(job.job_info?.new_counter).toBe(5);
      expect(job.git_info?.object_cache).toEqual({ enabled: true });
      expect(job.suspend_options).toEqual({ allowed: true });
      expect(job.cache).toEqual([{}, { key: 'k', policy: 'pull' }]);
      expect(job.artifacts).toEqual([{}]);
      expect(job.services).toEqual([{}]);
      expect(job.dependencies).toEqual([{ id: 0 }]);
      expect(job.features).not.toHaveProperty('failure_reasons');
    });

    it('fields Go decodes to their zero value when absent or null: a step without name or script, a variable without key', () => {
      const job = decode({
        id: 1,
        token: 't',
        steps: [null, { name: null, script: null }, { name: 'script', script: ['true', null] }],
        variables: [null, { value: 'no key' }],
        hooks: [null],
        image: { ports: [null] },
      });
      expect(job.steps).toEqual([
        { name: '', script: [] },
        { name: '', script: [] },
        { name: 'script', script: ['true', ''] },
      ]);
      expect(job.variables).toEqual([
        { key: '', value: '', masked: false },
        { key: '', value: 'no key', masked: false },
      ]);
      expect(job.hooks).toEqual([{ name: '', script: [] }]);
      expect(job.image).toEqual({ ports: [{ number: 0 }] });
    });
  });

  describe('payloads Go rejects are rejected, naming the field', () => {
    it.each([
      ['job_info.project_id', { job_info: { project_id: '4' } }],
      ['runner_info.timeout', { runner_info: { timeout: 1.5 } }],
      ['steps', { steps: { name: 'script' } }],
      ['steps[0].script', { steps: [{ name: 'script', script: 'make' }] }],
      ['steps[0].when', { steps: [{ name: 'script', script: [], when: 3 }] }],
      ['variables[0].key', { variables: [{ key: 5, value: 'v' }] }],
      ['variables[0].value', { variables: [{ key: 'K', value: 5 }] }],
      ['cache[0]', { cache: [1] }],
      ['features.failure_reasons[0]', { features: { failure_reasons: [true] } }],
    ])('%s', (path, fields) => {
      const decoding = () => decode({ id: 1, token: 't', ...fields });
      expect(decoding).toThrow(JobPayloadError);
      expect(decoding).toThrow(`field ${path} `);
    });
  });
});

describe('decoding a freshly parsed body in place', () => {
  const fixtures = ['gitlab-11.4.json', 'gitlab-runner-full.json', 'newer-gitlab.json'];

  it.each(fixtures)('%s: the same payload as the copying decoder, keys in the same order', (name) => {
    const copied = decodeJobPayload(payload(name));
    const inPlace = decodeParsedJobPayload(payload(name));
    expect(inPlace).toStrictEqual(copied);
    expect(JSON.stringify(inPlace)).toBe(JSON.stringify(copied));
    expect(inspect(inPlace, { depth: 10 })).toBe(inspect(copied, { depth: 10 }));
  });

  it.each(fixtures)('%s: the copying decoder leaves its input as it was', (name) => {
    const raw = payload(name);
    decodeJobPayload(raw);
    expect(raw).toStrictEqual(payload(name));
  });

  it('null list entries become objects of their own, so defaults and secrets land in one entry each', () => {
    const job = decodeParsedJobPayload({
      id: 1,
      token: 't',
      dependencies: [null, null, { id: 2, token: 'dep-token' }],
      cache: [null, null],
    });
    const dependencies = job.dependencies as ReadonlyArray<Record<string, unknown>>;
    const cache = job.cache as ReadonlyArray<Record<string, unknown>>;
    expect(dependencies).toEqual([{ id: 0 }, { id: 0 }, { id: 2, token: expect.any(Secret) }]);
    expect(dependencies[0]).not.toBe(dependencies[1]);
    expect(cache[0]).not.toBe(cache[1]);
    expect((dependencies[2]?.token as Secret | undefined)?.reveal()).toBe('dep-token');
    // A later payload's null entries start empty again.
    expect(decodeParsedJobPayload({ id: 2, token: 't', cache: [null] }).cache).toEqual([{}]);
  });

  it('a payload that fails its check keeps its id and token readable (the caller releases the job by them)', () => {
    const raw = { id: 7, token: 'job-token', image: null, steps: [{ name: 'script', script: 'make' }] };
    expect(() => decodeParsedJobPayload(raw)).toThrow('field steps[0].script ');
    expect(raw).toMatchObject({ id: 7, token: 'job-token' });
  });
});
