import { FakeClock, networkContract, networkHarness } from '@runner-core/core/testing';
import { test } from 'vitest';
import { FakeGitLab, InMemoryNetwork } from '../src/index.js';

networkContract(test, ({ profile }) => {
  const clock = new FakeClock();
  const gitlab = new FakeGitLab({ profile, clock });
  return networkHarness({ network: new InMemoryNetwork({ gitlab }), gitlab, clock });
});
