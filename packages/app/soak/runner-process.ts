import { type FakeGitLab, InMemoryNetwork } from '@runner-core/adapter-fake';
import {
  JobConfirmation,
  type Network,
  type Observer,
  type PendingJob,
  RunLoop,
  type RunSummary,
  runnerInfo,
  Secret,
  ServerGate,
  type StateStore,
  silentLogger,
} from '@runner-core/core';
import type { FakeClock } from '@runner-core/core/testing';
import type { Generation, Ledger } from './ledger.js';
import type { Prng } from './prng.js';
import { type ExecutionWatch, never, SoakExecutor } from './soak-executor.js';
import type { Tally } from './tally.js';

/** The runner manager every soak runner process is: a restart is the same runner coming back. */
export const SOAK_SYSTEM_ID = 's_50a450a45001';

/** What every runner process of one profile shares: the world it runs in, and the harness watching it. */
export interface RunnerProcessDeps {
  readonly clock: FakeClock;
  readonly gitlab: FakeGitLab;
  /** The state store that survives a crash (the state directory). */
  readonly store: StateStore;
  readonly ledger: Ledger;
  /** The core's events, counted by kind. */
  readonly events: Tally;
  /** Confirmation outcomes, by kind. */
  readonly outcomes: Tally;
  /** What the runner got back from GitLab, per operation. */
  readonly seen: Tally;
  readonly watch: ExecutionWatch;
  readonly prepare: (pending: PendingJob, generation: Generation) => Promise<void>;
  readonly random: Prng;
  readonly concurrency: number;
}

/**
 * One runner process: the real core (`RunLoop`, `JobConfirmation`, a `ServerGate`) over an `InMemoryNetwork` of its
 * own, on the shared fake clock and state store. {@link RunnerProcess.crash} kills it in-process, as the lifecycle
 * contract does: from then on every call it makes, every answer still on its way to it, and every write to the
 * store never settle, and its executor stops; the next process starts on the same store and must recover.
 */
export class RunnerProcess {
  readonly generation: Generation;
  readonly loop: RunLoop;
  /** Settles when the loop ends; never for a killed process. */
  readonly done: Promise<RunSummary>;
  readonly #clock: FakeClock;

  constructor(deps: RunnerProcessDeps) {
    const { clock, gitlab, ledger } = deps;
    this.#clock = clock;
    const generation = ledger.newGeneration();
    this.generation = generation;
    const random = deps.random.fork(`runner process ${generation.index}`);
    let requests = 0;
    // A fresh client per process: a restarted runner remembers no `last_update` either.
    const transport = new InMemoryNetwork({
      gitlab,
      newRequestId: () => `soak${generation.index}r${(requests++).toString(16).padStart(24, '0')}`,
    });
    const network = watched(crashable(transport, generation), generation, deps);
    const store = crashableStore(deps.store, generation);
    const observer = processObserver(generation, deps);
    const gate = new ServerGate(clock, { random: random.fork('gate').next });
    const info = runnerInfo();
    const confirmation = new JobConfirmation(
      { network, clock, observer, gate },
      { info, random: random.fork('confirmation').next },
    );
    const executor = new SoakExecutor(clock, generation, ledger, deps.watch);
    this.loop = new RunLoop(
      { network, clock, confirmation, executor, observer, logger: silentLogger, store },
      {
        credentials: { token: new Secret(gitlab.runnerToken), systemId: SOAK_SYSTEM_ID },
        info,
        concurrency: deps.concurrency,
        prepare: (pending) => deps.prepare(pending, generation),
        random: random.fork('run loop').next,
      },
    );
    this.done = this.loop.run();
  }

  /** Kills the process: nothing it started goes on. */
  crash(): void {
    this.generation.dead = true;
    this.generation.crashedAt = this.#clock.now();
  }
}

/** The network of a process that can die: calls made after, and answers arriving after, never settle. */
function crashable(network: Network, generation: Generation): Network {
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (generation.dead) return never();
    return call().then(
      (value) => (generation.dead ? never<T>() : value),
      (error: unknown) => (generation.dead ? never<T>() : Promise.reject(error)),
    );
  };
  return {
    verifyRunner: (input) => guard(() => network.verifyRunner(input)),
    requestJob: (input) => guard(() => network.requestJob(input)),
    updateJob: (job, input) => guard(() => network.updateJob(job, input)),
    postRunnerStatus: (job, input) => guard(() => network.postRunnerStatus(job, input)),
    patchTrace: (job, input) => guard(() => network.patchTrace(job, input)),
    close: () => network.close(),
  };
}

/**
 * Counts what the runner got back (answer kinds and faults, per operation) and books every job a job request
 * delivered to it: only answers that reached a living process count.
 */
function watched(network: Network, generation: Generation, deps: RunnerProcessDeps): Network {
  const { seen: tally, ledger, clock } = deps;
  const seen = async <T extends { readonly kind: string }>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      tally.add(`${operation} → ${result.kind}`);
      return result;
    } catch (error) {
      tally.add(`${operation} → ${error instanceof Error ? error.name : 'error'}`);
      throw error;
    }
  };
  return {
    verifyRunner: (input) => seen('verify-runner', () => network.verifyRunner(input)),
    requestJob: async (input) => {
      generation.firstRequestAt ??= clock.now();
      const result = await seen('request-job', () => network.requestJob(input));
      if (result.kind === 'job') {
        const entry = ledger.entry(result.job.id);
        entry.timesReceived += 1;
        entry.receivedBy ??= generation.index;
        entry.receivedToken ??= result.job.token;
      }
      return result;
    },
    updateJob: (job, input) => seen(`update-job(${input.state})`, () => network.updateJob(job, input)),
    postRunnerStatus: (job, input) =>
      seen(`post-runner-status(${input.status})`, () => network.postRunnerStatus(job, input)),
    patchTrace: (job, input) => seen('patch-trace', () => network.patchTrace(job, input)),
    close: () => network.close(),
  };
}

/** The shared store as one process sees it: once the process died, its writes (and reads) never happen. */
function crashableStore(store: StateStore, generation: Generation): StateStore {
  return {
    recordJob: (entry) => (generation.dead ? never() : store.recordJob(entry)),
    forgetJob: (jobId) => (generation.dead ? never() : store.forgetJob(jobId)),
    putFinalState: (entry) => {
      if (generation.dead) return never();
      generation.keptFinal.add(entry.job.id);
      return store.putFinalState(entry);
    },
    removeFinalState: (jobId) => (generation.dead ? never() : store.removeFinalState(jobId)),
    load: () => (generation.dead ? never() : store.load()),
  };
}

/** Books the core's events: confirmation outcomes, releases, recoveries, outbox traffic; a dead process says nothing. */
function processObserver(generation: Generation, deps: RunnerProcessDeps): Observer {
  const { ledger, events: tally, outcomes } = deps;
  return {
    notify: (event) => {
      if (generation.dead) return;
      switch (event.event) {
        case 'job.outcome':
          outcomes.add(event.outcome);
          ledger.entry(event.jobId).outcome = event.outcome;
          break;
        case 'job.released':
          tally.add(`release ${event.failureReason} ${event.answer}`);
          ledger.entry(event.jobId).release = event.answer;
          break;
        case 'job.recovered':
          tally.add(`recovered ${event.phase} ${event.action}`);
          generation.recovered.push({ jobId: event.jobId, phase: event.phase, action: event.action });
          break;
        case 'outbox.delivered':
          tally.add(`outbox delivered ${event.result}`);
          break;
        case 'outbox.kept':
        case 'strategy.fallback':
        case 'runner.unhealthy':
          tally.add(event.event);
          break;
        case 'job.finished':
          tally.add(`final update ${event.report}`);
          break;
        case 'retry.scheduled':
          tally.add(`retry ${event.operation}`);
          break;
        default:
          break;
      }
    },
  };
}
