import { type JobPayload, runnerInfo, Secret } from '@runner-core/core';
import { aWireJob, defaultMaskedValue } from '@runner-core/core/simulation';
import { decodeJobPayload, type WireJobPayload } from '@runner-core/core/wire';

/** The runner info every bench client sends (the default feature set: two-phase commit advertised). */
export const benchInfo = runnerInfo();

/** The runner's credentials on the bench servers (the loopback server accepts any token). */
export const benchRunner = { token: new Secret('glrt-bench-runner-token-0001'), systemId: 's_bench0000001' };

/**
 * A job payload of about 2.2 KB, the size of a small real job: `aWireJob`'s defaults plus the variables and script
 * lines a typical pipeline carries, so decoding walks as many fields as it would in production.
 */
export function benchWireJob(id: number): WireJobPayload {
  const token = `glcbt-64_bench${String(id).padStart(10, '0')}xyz`;
  return aWireJob({
    id,
    token,
    script: ['npm ci --prefer-offline', 'npm run lint', 'npm run build', 'npm test -- --reporter=dot'],
    variables: [
      { key: 'CI_JOB_ID', value: String(id), public: true, file: false, masked: false, raw: false },
      { key: 'CI_JOB_TOKEN', value: token, public: false, file: false, masked: true, raw: false },
      { key: 'CI_PIPELINE_ID', value: '900', public: true, file: false, masked: false, raw: false },
      { key: 'CI_PROJECT_PATH', value: 'acme/demo', public: true, file: false, masked: false, raw: false },
      { key: 'CI_COMMIT_REF_NAME', value: 'main', public: true, file: false, masked: false, raw: false },
      {
        key: 'CI_COMMIT_SHA',
        value: '1f0c2a9e5b7d3c1a0f9e8d7c6b5a4f3e2d1c0b9a',
        public: true,
        file: false,
        masked: false,
        raw: false,
      },
      {
        key: 'CI_SERVER_URL',
        value: 'https://gitlab.example.com',
        public: true,
        file: false,
        masked: false,
        raw: false,
      },
      { key: 'DEPLOY_PASSWORD', value: defaultMaskedValue, public: false, file: false, masked: true, raw: false },
    ],
  });
}

/** The bodies of job requests' 201 answers with ids `1…count`, as GitLab sends them: encoded once, served in turn. */
export function benchJobBodies(count: number): Buffer[] {
  return Array.from({ length: count }, (_, index) => Buffer.from(JSON.stringify(benchWireJob(index + 1))));
}

/** Decoded payloads with ids `first…first+count-1`, as a job request would deliver them. */
export function benchPayloads(count: number, first = 1): JobPayload[] {
  return Array.from({ length: count }, (_, index) => decodeJobPayload(benchWireJob(first + index)));
}
