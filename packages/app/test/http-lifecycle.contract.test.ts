import { FakeGitLab, FakeGitLabServer } from '@runner-core/adapter-fake';
import { HttpNetwork } from '@runner-core/adapter-http';
import { FakeClock, lifecycleContract } from '@runner-core/core/testing';
import { test } from 'vitest';

/*
 * The core's job lifecycle (run loop, job session, confirmation) against HttpNetwork talking real HTTP on loopback to
 * FakeGitLabServer. Runner and fake share one fake clock; the suite holds it while a request is on the wire.
 */
lifecycleContract(
  test,
  async ({ profile }) => {
    const clock = new FakeClock();
    const gitlab = new FakeGitLab({ profile, clock });
    const server = await FakeGitLabServer.start({ gitlab });
    const network = new HttpNetwork({ url: server.url, clock });
    return {
      network,
      gitlab,
      clock,
      close: async () => {
        await network.close();
        await server.close();
      },
    };
  },
  { name: 'Job lifecycle over HttpNetwork (loopback)' },
);
