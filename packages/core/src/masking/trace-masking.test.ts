import { describe, expect, it } from 'vitest';
import { aJobPayload } from '../testing/builders.js';
import { TextTraceSink as TextSink } from '../testing/text-trace-sink.js';
import { DEFAULT_TOKEN_PREFIXES, MASKED, maskingSink, maskText, tokenPrefixesOf } from './trace-masking.js';

const TOKEN_BODY = 'AbC123xyz_9-QQ';
const LINE = `push with glpat-${TOKEN_BODY} then exit\n`;
const MASKED_LINE = `push with glpat-${MASKED} then exit\n`;

describe('prefix-based token masking (docs/gitlab-protocol.md §1.6)', () => {
  it('masks the token after a known prefix and keeps the prefix', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    sink.write(LINE);
    sink.flush();
    expect(out.text).toBe(MASKED_LINE);
  });

  it('masks a token split across two writes at any point', () => {
    for (let split = 0; split <= LINE.length; split++) {
      const out = new TextSink();
      const sink = maskingSink(out, []);
      sink.write(LINE.slice(0, split));
      sink.write(LINE.slice(split));
      sink.flush();
      expect(out.text, `split at ${split}`).toBe(MASKED_LINE);
    }
  });

  it('never writes any part of a token, even one written a character at a time', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    for (const character of LINE) sink.write(character);
    expect(out.text).not.toContain(TOKEN_BODY.slice(0, 3));
    sink.flush();
    expect(out.text).toBe(MASKED_LINE);
  });

  it('a token at the very end of the output is held until flush, then masked', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    sink.write(`last words: glcbt-${TOKEN_BODY}`);
    expect(out.text).toBe('last words: ');
    sink.flush();
    expect(out.text).toBe(`last words: glcbt-${MASKED}`);
  });

  it('masks known values and prefixed tokens together', () => {
    const out = new TextSink();
    const sink = maskingSink(out, ['hunter22'], DEFAULT_TOKEN_PREFIXES);
    sink.write(`password=hunter22 token=gldt-${TOKEN_BODY}; done`);
    sink.flush();
    expect(out.text).toBe(`password=${MASKED} token=gldt-${MASKED}; done`);
  });

  it('takes dots as part of a token, as routable tokens have them', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    sink.write('glpat-AbCdEf.01.0y1n2rcy end');
    sink.flush();
    expect(out.text).toBe(`glpat-${MASKED} end`);
  });

  it("adds the server's features.token_mask_prefixes to the defaults", () => {
    const payload = aJobPayload({ features: { token_mask_prefixes: ['acme_', ''] } });
    const prefixes = tokenPrefixesOf(payload);
    expect(prefixes).toContain('glpat-');
    expect(prefixes).toContain('acme_');
    expect(prefixes).not.toContain('');
    const out = new TextSink();
    const sink = maskingSink(out, [], prefixes);
    sink.write(`key acme_${TOKEN_BODY} ok`);
    sink.flush();
    expect(out.text).toBe(`key acme_${MASKED} ok`);
  });

  it('leaves text with no prefix alone', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    sink.write('glob pattern: gl* and glpat alone\n');
    sink.flush();
    expect(out.text).toBe('glob pattern: gl* and glpat alone\n');
  });
});

describe('maskingSink', () => {
  it('replaces every value, even split across writes', () => {
    const out = new TextSink();
    const sink = maskingSink(out, ['s3cr3t-value', 'other']);
    sink.write('a s3cr');
    sink.write('3t-val');
    sink.write('ue b other s3cr3t-value');
    sink.write(Buffer.from(' tail s3'));
    sink.flush();
    expect(out.text).toBe(`a ${MASKED} b ${MASKED} ${MASKED} tail s3`);
  });

  it('holds back only what could start a value', () => {
    const out = new TextSink();
    const sink = maskingSink(out, ['secret']);
    sink.write('plain text se');
    expect(out.text).toBe('plain text ');
    sink.write('cond');
    expect(out.text).toBe('plain text second');
    sink.flush();
    expect(out.text).toBe('plain text second');
  });

  it('keeps a UTF-8 character split across byte chunks', () => {
    const out = new TextSink();
    const sink = maskingSink(out, ['zzzz']);
    const bytes = Buffer.from('héllo');
    sink.write(bytes.subarray(0, 2));
    sink.write(bytes.subarray(2));
    sink.flush();
    expect(out.text).toBe('héllo');
  });

  it('passes output through when nothing is masked', () => {
    const out = new TextSink();
    const sink = maskingSink(out, []);
    sink.write('abc');
    expect(out.text).toBe('abc');
  });
});

describe('maskText', () => {
  it('masks a whole text at once, values and prefixed tokens', () => {
    expect(maskText(`value s3cr3t-v and glpat-${TOKEN_BODY} end`, ['s3cr3t-v'])).toBe(
      `value ${MASKED} and glpat-${MASKED} end`,
    );
  });
});
