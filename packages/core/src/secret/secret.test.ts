import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { redact, Secret, shortToken } from './secret.js';

describe('Secret', () => {
  const token = new Secret('glrt-t1_AbCdEfGhIjKlMnOpQr');

  test('printing, interpolating, JSON and inspect never show the value', () => {
    const shown = [
      String(token),
      `${token}`,
      JSON.stringify({ token }),
      inspect(token),
      inspect({ nested: { token } }),
    ];
    for (const text of shown) expect(text).not.toContain('AbCdEf');
    expect(JSON.stringify({ token })).toBe('{"token":"[REDACTED]"}');
  });

  test('reveal is the one way out; equality works without revealing', () => {
    expect(token.reveal()).toBe('glrt-t1_AbCdEfGhIjKlMnOpQr');
    expect(token.equals('glrt-t1_AbCdEfGhIjKlMnOpQr')).toBe(true);
    expect(token.equals(new Secret('other'))).toBe(false);
  });
});

describe('shortToken (gitlab-runner helpers/shorten_token.go)', () => {
  test.each([
    ['glrt-t1_AbCdEfGhIjKlMnOpQr', 'AbCdEfGhI'],
    ['glrt-AbCdEfGhIjKl', 'AbCdEfGhI'],
    ['glrtr-ZyXwVuTsRq', 'ZyXwVuTsR'],
    ['t2_123456789abc', '123456789'],
    ['GR1348941aBcDeFgHiJkL', 'aBcDeFgHi'],
    ['plaintoken12345', 'plaintoke'],
  ])('%s → %s', (token, short) => {
    expect(shortToken(token)).toBe(short);
  });
});

test('redact replaces every occurrence of each secret', () => {
  const job = new Secret('glcbt-abc');
  expect(redact('token=glcbt-abc&again=glcbt-abc', [job, undefined])).toBe('token=[REDACTED]&again=[REDACTED]');
});
