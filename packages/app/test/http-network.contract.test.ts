import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { HttpNetwork } from '@runner-core/adapter-http';
import { FakeClock, networkContract, networkHarness } from '@runner-core/core/testing';
import { test } from 'vitest';

/*
 * The Network contract against HttpNetwork talking real HTTP on loopback to FakeGitLabServer, for every server
 * profile. NOTE: an accepted TCP connection cannot be refused, so the `refused` fault is left to the unit tests
 * (nock); `timeout` needs the client to give up, hence the short timeouts (real time: a socket timer).
 */
const TIMEOUT_MS = 500;

networkContract(
  test,
  async ({ profile }) => {
    const clock = new FakeClock();
    const gitlab = new FakeGitLab({ profile, clock });
    const server = await FakeGitLabServer.start({ gitlab });
    const network = new HttpNetwork({ url: server.url, clock, timeoutMs: TIMEOUT_MS, jobRequestTimeoutMs: TIMEOUT_MS });
    return networkHarness({
      network,
      gitlab,
      clock,
      close: async () => {
        network.close();
        await server.close();
      },
    });
  },
  { name: 'HttpNetwork over loopback', faults: ['reset', 'timeout'] },
);
