import { FakeClock, lifecycleContract } from '@runner-core/core/testing';
import { test } from 'vitest';
import { FakeGitLab, InMemoryNetwork } from '../src/index.js';

lifecycleContract(
  test,
  ({ profile }) => {
    const clock = new FakeClock();
    const gitlab = new FakeGitLab({ profile, clock });
    return { network: new InMemoryNetwork({ gitlab }), gitlab, clock };
  },
  { name: 'Job lifecycle over InMemoryNetwork' },
);
