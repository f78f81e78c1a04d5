/**
 * The child process of the scale run (forked by `ChildServer`): the fake GitLab over loopback HTTP, in a process of
 * its own so its CPU does not count as the runner's. argv[2] is the ack window in ms.
 */
import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { cpuUsSoFar, serveParent } from './ipc-messages.js';

const ackWindowMs = Number(process.argv[2] ?? '120000');
const gitlab = new FakeGitLab({
  profile: 'two-phase',
  ackWindowMs,
  // NOTE: the expiry worker scans every job per due check; with 10,000 waiting jobs that would make the fake, not
  // the runner, the bottleneck. A lapsed window is still refused (403) without it.
  autoExpiry: false,
  // Only the last entry is read (its sequence number counts every request), so the log holds one.
  requestLogLimit: 1,
});
const server = await FakeGitLabServer.start({ gitlab });
serveParent((request) => {
  if (request.type === 'enqueue') {
    for (let index = 0; index < request.count; index++) gitlab.enqueueJob();
    return { id: request.id, type: 'enqueued', count: request.count };
  }
  return { id: request.id, type: 'counts', total: gitlab.requests().at(-1)?.seq ?? 0, cpuUs: cpuUsSoFar() };
});
process.send?.({ id: 0, type: 'ready', url: server.url, runnerToken: gitlab.runnerToken });
