import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../src/executors/go-duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['10m0s', 600_000],
    ['0', 0],
  ])('%s is %i ms', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'five minutes', '5 m', 'm5', '-1s'])('%j is not a duration', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});
