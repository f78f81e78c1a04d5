import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The one list of test projects, selected by filename suffix:
 * - `unit`: `*.test.ts` that are neither contract nor scenario tests;
 * - `contract`: `*.contract.test.ts`, the shared `Network` contract run against each adapter;
 * - `scenario`: `*.scenario.test.ts`, whole flows against the fake GitLab (in memory and over HTTP).
 *
 * NOTE: Vitest 4 no longer reads this file by itself; `vitest.config.ts` imports it.
 */
const sourceCondition = '@runner-core/source';
const shared = {
  resolve: { conditions: [sourceCondition, 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: [sourceCondition, 'node', 'import', 'default'] } },
};
const exclude = ['**/node_modules/**', '**/dist/**'];

export const testProjects: TestProjectInlineConfiguration[] = [
  {
    ...shared,
    test: {
      name: 'unit',
      include: ['packages/*/{src,test}/**/*.test.ts'],
      exclude: [...exclude, '**/*.contract.test.ts', '**/*.scenario.test.ts'],
    },
  },
  {
    ...shared,
    test: {
      name: 'contract',
      include: ['packages/*/{src,test}/**/*.contract.test.ts'],
      exclude,
    },
  },
  {
    ...shared,
    test: {
      name: 'scenario',
      include: ['packages/*/{src,test}/**/*.scenario.test.ts'],
      exclude,
    },
  },
];

export default testProjects;
