import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, spawnCli } from './support/cli-process.js';
import { eventually } from './support/jobs.js';

/*
 * runner-core as an operator runs it (docs/operations.md): a config.toml written for gitlab-runner's shell executor,
 * two [[runners]] against the simulator over HTTP, Prometheus metrics and health checks on listen_address, and
 * SIGQUIT draining the jobs in flight. Spawned: real signals, real sockets.
 */
beforeAll(() => buildCli(), 180_000);

let server: FakeGitLabServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

/** The value of one sample of a Prometheus text exposition, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('a gitlab-runner config.toml, served with metrics and health, drained by SIGQUIT', () => {
  it('runs the jobs of both runners, counts them at /metrics, says ready, and drains on SIGQUIT', {
    timeout: 60_000,
  }, async () => {
    const gitlab = new FakeGitLab({ profile: 'two-phase' });
    const second = gitlab.addRunner('glrt-secondRunnerToken0002');
    server = await FakeGitLabServer.start({ gitlab });
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'runner-core-service-'));
    const marker = join(dir, 'release-the-job');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `concurrent = 2
check_interval = 1
listen_address = "127.0.0.1:${port}"

[session_server]
  session_timeout = 1800

[[runners]]
  name = "build-box"
  url = "${server.url}"
  token = "${gitlab.runnerToken}"
  executor = "shell"
  limit = 1
  [runners.cache]

[[runners]]
  name = "deploy-box"
  url = "${server.url}/api/v4"
  token = "${second}"
  executor = "shell"
`,
    );
    const quick = [
      gitlab.enqueueJob({ script: ['echo quick one'] }),
      gitlab.enqueueJob({ script: ['echo quick two'] }),
    ];
    const cli = spawnCli(['run', '--config', config, '--check-interval', '100ms', '--log-level', 'info']);
    const status = `http://127.0.0.1:${port}`;
    try {
      await eventually(() => quick.every(({ id }) => gitlab.jobStatus(id) === 'success'), 20_000, 'the quick jobs');
      // GitLab has the final states a moment before the runner counts them (it counts once GitLab answered).
      let metrics = '';
      const scrape = async (): Promise<string> => (await fetch(`${status}/metrics`)).text();
      const both = ['build-box', 'deploy-box'];
      // NOTE: and until each runner has asked again after its job (a 204), which may take one check interval more.
      const settled = (): boolean =>
        sample(metrics, 'runner_core_jobs_total', { state: 'success' }) >= 2 &&
        both.every((runner) => sample(metrics, 'runner_core_api_requests_total', { runner, status: '204' }) > 0);
      for (let tries = 0; tries < 200 && !settled(); tries++) {
        metrics = await scrape();
        if (!settled()) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(sample(metrics, 'runner_core_jobs_total', { state: 'success', failure_reason: '' })).toBe(2);
      expect(sample(metrics, 'runner_core_confirmations_total', { outcome: 'confirmed', strategy: 'state-put' })).toBe(
        2,
      );
      expect(sample(metrics, 'runner_core_api_requests_total', { endpoint: 'request-job', status: '201' })).toBe(2);
      for (const runner of both) {
        expect(
          sample(metrics, 'runner_core_api_requests_total', { runner, endpoint: 'request-job', status: '204' }),
        ).toBeGreaterThan(0);
        expect(sample(metrics, 'runner_core_gitlab_up', { runner })).toBe(1);
      }
      expect(metrics).toMatch(/runner_core_confirmation_duration_seconds_count\{runner="[a-z-]+"\} 1/);
      expect(await (await fetch(`${status}/health/live`)).json()).toEqual({ status: 'live' });
      const ready = await fetch(`${status}/health/ready`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);

      // A job that runs until the test lets it go; SIGQUIT while it runs.
      const slow = gitlab.enqueueJob({ script: [`while [ ! -f ${marker} ]; do sleep 0.05; done`, 'echo released'] });
      await eventually(() => gitlab.jobStatus(slow.id) === 'running', 20_000, 'the slow job to run');
      cli.child.kill('SIGQUIT');
      await eventually(() => cli.stderr().includes('SIGQUIT: no new jobs'), 5_000, 'the drain to begin');
      const draining = await fetch(`${status}/health/ready`);
      expect([draining.status, await draining.json()]).toEqual([503, { status: 'draining' }]);
      const running = await (await fetch(`${status}/metrics`)).text();
      expect(sample(running, 'runner_core_jobs_running', {})).toBe(1);
      // A job queued now is not taken: the runner drains.
      const late = gitlab.enqueueJob({ script: ['echo too late'] });
      writeFileSync(marker, '');
      expect(await cli.exited).toBe(0);
      expect(gitlab.jobStatus(slow.id)).toBe('success');
      expect(gitlab.traceText(slow.id)).toContain('released');
      expect(gitlab.jobStatus(late.id)).toBe('pending');
      expect(cli.stderr()).toContain('session_server: not used by runner-core (ignored)');
      expect(cli.stdout() + cli.stderr()).not.toContain(gitlab.runnerToken);
      expect(cli.stdout() + cli.stderr()).not.toContain(second);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});
