import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { EventRecorder, type JobReport, Secret, systemClock } from '@runner-core/core';
import type { CliIo } from '../cli/cli-io.js';
import { appConfig } from '../config/app-config.js';
import type { DemoConfig } from '../config/command-configs.js';
import { buildContainer, createRunLoop, disposeContainer, verifyContainer } from '../container.js';
import { DEMO_ACK_WINDOW_MS, DEMO_KEEP_ALIVE_MS, DEMO_SCENARIOS, type DemoScenario } from './demo-scenarios.js';

/** One row of the demo's table. */
export interface DemoRow {
  readonly scenario: string;
  readonly profile: string;
  readonly outcome: string;
  readonly mode: string;
  readonly strategy: string;
  readonly attempts: number;
  readonly ms: number;
  /** What went otherwise than expected; empty when the scene played as expected. */
  readonly problems: readonly string[];
}

/** Plays one scene: a fresh fake GitLab over HTTP, one job, the runner with `--once`. */
export async function playScenario(scenario: DemoScenario, config: DemoConfig, io: CliIo): Promise<DemoRow> {
  const gitlab = new FakeGitLab({ profile: scenario.profile, ackWindowMs: DEMO_ACK_WINDOW_MS });
  const job = gitlab.enqueueJob({
    name: scenario.name,
    script: ['echo "scenario: $CI_JOB_ID"', 'echo "deploying with $DEPLOY_PASSWORD"', 'echo done'],
  });
  scenario.arrange?.(gitlab, job.id);
  const server = await FakeGitLabServer.start({ gitlab, host: '127.0.0.1' });
  const recorder = new EventRecorder();
  const runnerAckWindowMs = scenario.runnerAckWindowMs ?? DEMO_ACK_WINDOW_MS;
  const container = buildContainer(
    appConfig({
      network: 'http',
      url: server.url,
      logLevel: config.logLevel,
      keepAliveIntervalMs: runnerAckWindowMs === DEMO_ACK_WINDOW_MS ? DEMO_KEEP_ALIVE_MS : 30_000,
      ackWindowMs: runnerAckWindowMs,
      probe: scenario.probe ?? false,
      strategy: scenario.strategy ?? 'auto',
      confirmationTuning: { deadlineMarginMs: Math.min(5_000, Math.floor(runnerAckWindowMs / 6)) },
    }),
    {
      observers: [recorder],
      // NOTE: the fake listens on loopback; a proxy from the environment must not get in between.
      proxyEnv: {},
      ...(io.logDestination === undefined ? {} : { logDestination: io.logDestination }),
    },
  );
  const started = systemClock.now();
  try {
    verifyContainer(container);
    const { prepare } = scenario;
    const loop = createRunLoop(container, {
      credentials: { token: new Secret(gitlab.runnerToken), systemId: 's_demo00000001' },
      once: true,
      checkIntervalMs: 200,
      traceIntervalMs: 200,
      ...(prepare === undefined ? {} : { prepare: (pending) => prepare(gitlab, pending) }),
    });
    const summary = await loop.run();
    const report: JobReport | undefined = summary.reports[0];
    if (report === undefined) {
      return {
        scenario: scenario.name,
        profile: scenario.profile,
        outcome: '-',
        mode: '-',
        strategy: '-',
        attempts: 0,
        ms: systemClock.now() - started,
        problems: ['the runner handled no job'],
      };
    }
    const { outcome } = report;
    const problems: string[] = [];
    const { expected } = scenario;
    if (outcome.kind !== expected.outcome) problems.push(`outcome ${outcome.kind}, expected ${expected.outcome}`);
    if (expected.mode !== undefined && outcome.mode !== expected.mode) {
      problems.push(`mode ${outcome.mode}, expected ${expected.mode}`);
    }
    if (expected.strategy !== undefined && outcome.strategy !== expected.strategy) {
      problems.push(`strategy ${outcome.strategy}, expected ${expected.strategy}`);
    }
    if (recorder.of('job.outcome').length !== 1) problems.push('expected exactly one job.outcome event');
    const verdict = scenario.verify(gitlab, job.id, report);
    if (verdict !== undefined) problems.push(verdict);
    return {
      scenario: scenario.name,
      profile: scenario.profile,
      outcome: outcome.kind,
      mode: outcome.mode,
      strategy: outcome.strategy,
      attempts: outcome.attempts,
      ms: outcome.elapsedMs,
      problems,
    };
  } finally {
    await disposeContainer(container);
    await server.close();
  }
}

/** The table of outcomes, one scene per row. */
export function demoTable(rows: readonly DemoRow[]): string {
  const header = ['scenario', 'profile', 'outcome', 'mode', 'strategy', 'attempts', 'ms', 'result'];
  const cells = rows.map((row) => [
    row.scenario,
    row.profile,
    row.outcome,
    row.mode,
    row.strategy,
    String(row.attempts),
    String(row.ms),
    row.problems.length === 0 ? 'ok' : 'UNEXPECTED',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column]?.length ?? 0)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((value, column) => value.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line), ''].join('\n');
}

/**
 * `runner-core demo`: the fake GitLab and the runner in one process, over real HTTP on loopback, through every
 * scene of {@link DEMO_SCENARIOS}: a progress line per scene on stderr, then the table on stdout. Exits 1 when a
 * scene ends otherwise than expected.
 *
 * @returns the exit code
 */
export async function demoCommand(config: DemoConfig, io: CliIo): Promise<number> {
  const rows: DemoRow[] = [];
  const total = DEMO_SCENARIOS.length;
  io.stderr(`runner-core demo: ${total} scenarios against a fake GitLab over HTTP on 127.0.0.1\n`);
  for (const [index, scenario] of DEMO_SCENARIOS.entries()) {
    io.stderr(`[${index + 1}/${total}] ${scenario.name} (${scenario.profile}): ${scenario.story} ...\n`);
    const row = await playScenario(scenario, config, io);
    rows.push(row);
    const verdict = row.problems.length === 0 ? 'as expected' : `UNEXPECTED: ${row.problems.join('; ')}`;
    io.stderr(`[${index + 1}/${total}] ${scenario.name}: ${row.outcome} in ${row.ms} ms, ${verdict}\n`);
  }
  io.stdout(`\n${demoTable(rows)}`);
  const failures = rows.filter((row) => row.problems.length > 0);
  io.stdout(
    failures.length === 0
      ? `all ${total} scenarios ended as expected\n`
      : `${failures.length} of ${total} scenarios ended otherwise than expected\n`,
  );
  return failures.length === 0 ? 0 : 1;
}
