import { describe, expect, it } from 'vitest';
import { goArchitecture, goPlatform, userAgent } from './runner-platform.js';

describe('platform names as GitLab shows them (docs/gitlab-protocol.md §2.2)', () => {
  it.each([
    ['x64', 'amd64'],
    ['ia32', '386'],
    ['arm64', 'arm64'],
    ['arm', 'arm'],
    ['ppc64', 'ppc64le'],
    ['s390x', 's390x'],
    ['mipsel', 'mipsle'],
    ['something-new', 'something-new'],
  ])('architecture %s is %s', (node, go) => {
    expect(goArchitecture(node)).toBe(go);
  });

  it.each([
    ['linux', 'linux'],
    ['darwin', 'darwin'],
    ['win32', 'windows'],
    ['sunos', 'solaris'],
  ])('platform %s is %s', (node, go) => {
    expect(goPlatform(node)).toBe(go);
  });

  it("builds a User-Agent in gitlab-runner's shape", () => {
    expect(userAgent({ version: '0.1.0', runtime: 'node v20.19.0', platform: 'linux', arch: 'x64' })).toBe(
      'runner-core 0.1.0 (main; node v20.19.0; linux/amd64)',
    );
    expect(
      userAgent({
        name: 'my-dispatcher',
        version: '2.0.0',
        branch: '2-0-stable',
        platform: 'darwin',
        arch: 'arm64',
        runtime: 'node v22.0.0',
      }),
    ).toBe('my-dispatcher 2.0.0 (2-0-stable; node v22.0.0; darwin/arm64)');
  });

  it('describes the running process by default', () => {
    expect(userAgent({ version: '1.0.0' })).toMatch(
      /^runner-core 1\.0\.0 \(main; node v\d+\.\d+\.\d+; [a-z]+\/[a-z0-9]+\)$/,
    );
  });
});
