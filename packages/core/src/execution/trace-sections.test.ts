import { describe, expect, it } from 'vitest';
import { sectionEnd, sectionStart } from './trace-sections.js';

describe('trace sections (docs/gitlab-protocol.md §6.6)', () => {
  it('opens and closes a section as GitLab folds it: unix seconds, name, erase-line', () => {
    expect(sectionStart('step_script', 'Executing "step_script"', 1_700_000_000_999)).toBe(
      'section_start:1700000000:step_script\r\u001b[0K\u001b[0K\u001b[36;1mExecuting "step_script"\u001b[0;m\n',
    );
    expect(sectionEnd('step_script', 1_700_000_005_000)).toBe('section_end:1700000005:step_script\r\u001b[0K\n');
  });

  it('can start folded', () => {
    expect(sectionStart('prepare', 'Preparing', 0, { collapsed: true })).toContain(
      'section_start:0:prepare[collapsed=true]\r',
    );
  });

  it('refuses a name GitLab would not fold', () => {
    expect(() => sectionStart('Step Script', 'x', 0)).toThrow(RangeError);
    expect(() => sectionEnd('a:b', 0)).toThrow('use [a-z0-9_.-]');
  });
});
