/*
 * GitLab's admin pages show a runner's platform and architecture as gitlab-runner reports them: Go's names
 * (`GOOS`/`GOARCH`), not Node's (docs/gitlab-protocol.md §2.2). These map one to the other.
 */

const GO_ARCHITECTURES: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm: 'arm',
  arm64: 'arm64',
  // NOTE: Node runs ppc64 little-endian only on Linux, which Go calls ppc64le.
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

const GO_PLATFORMS: Readonly<Record<string, string>> = { win32: 'windows', sunos: 'solaris' };

/** Node's `process.arch` as Go names it (`x64` → `amd64`, `ia32` → `386`); unknown names pass through. */
export function goArchitecture(nodeArch: string): string {
  return GO_ARCHITECTURES[nodeArch] ?? nodeArch;
}

/** Node's `process.platform` as Go names it (`win32` → `windows`); `linux`, `darwin`, `freebsd` are the same. */
export function goPlatform(nodePlatform: string): string {
  return GO_PLATFORMS[nodePlatform] ?? nodePlatform;
}

/** What {@link userAgent} describes. */
export interface UserAgentParts {
  /** @default 'runner-core' */
  readonly name?: string;
  readonly version: string;
  /** The source branch the build came from. @default 'main' */
  readonly branch?: string;
  /** @default `node ${process.version}` */
  readonly runtime?: string;
  /** Node's name. @default process.platform */
  readonly platform?: string;
  /** Node's name. @default process.arch */
  readonly arch?: string;
}

/**
 * A `User-Agent` in gitlab-runner's shape, `<name> <version> (<branch>; <runtime>; <os>/<arch>)` with Go's names:
 * `runner-core 0.1.0 (main; node v20.19.0; linux/amd64)`.
 */
export function userAgent(parts: UserAgentParts): string {
  const platform = goPlatform(parts.platform ?? process.platform);
  const arch = goArchitecture(parts.arch ?? process.arch);
  const runtime = parts.runtime ?? `node ${process.version}`;
  return `${parts.name ?? 'runner-core'} ${parts.version} (${parts.branch ?? 'main'}; ${runtime}; ${platform}/${arch})`;
}
