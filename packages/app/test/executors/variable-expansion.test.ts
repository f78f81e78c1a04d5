// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell variable references, not JS templates.
import { describe, expect, it } from 'vitest';
import { expandValue, expandVariables } from '../../src/executors/variable-expansion.js';

// How gitlab-runner expands variable values (docs/gitlab-protocol.md §3.3).
describe('expandValue', () => {
  const values: Record<string, string> = { HOME_DIR: '/home/ci', A: 'a', EMPTY: '' };
  const lookup = (name: string): string => values[name] ?? '';

  it.each([
    ['$HOME_DIR/bin', '/home/ci/bin'],
    ['${HOME_DIR}x', '/home/cix'],
    ['$A$A', 'aa'],
    ['$UNKNOWN.', '.'],
    ['price $$5', 'price $5'],
    ['exit $? and $1', 'exit  and '],
    ['${?}', ''],
    ['a $ b', 'a $ b'],
    ['trailing $', 'trailing $'],
    ['${}x', 'x'],
    ['${A', 'A'],
    ['no references', 'no references'],
    ['$A-$EMPTY-', 'a--'],
  ])('%s → %s', (value, expanded) => {
    expect(expandValue(value, lookup)).toBe(expanded);
  });
});

describe('expandVariables', () => {
  it('expands against the values as they came, the last definition of a name winning; raw ones stay', () => {
    const expanded = expandVariables([
      { key: 'BASE', value: '/one' },
      { key: 'BASE', value: '/two' },
      { key: 'BIN', value: '$BASE/bin' },
      { key: 'CHAIN', value: '$BIN/x' },
      { key: 'RAW', value: '$BASE', raw: true },
    ]);
    expect(expanded.map((variable) => variable.value)).toEqual(['/one', '/two', '/two/bin', '$BASE/bin/x', '$BASE']);
  });
});
