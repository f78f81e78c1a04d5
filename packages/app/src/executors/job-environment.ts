import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { goArchitecture, goPlatform, type JobPayload, revealVariable } from '@runner-core/core';
import { APP_VERSION } from '../version.js';
import { expandVariables } from './variable-expansion.js';

/** Variables of the runner's own environment a job may see; nothing else is inherited (no runner token!). */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SHELL'];
/** What a variable name must look like to be set in a shell. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The runner, as the predefined `CI_RUNNER_*` variables describe it. */
export interface RunnerIdentity {
  readonly version: string;
  readonly revision: string;
  /** `CI_RUNNER_SHORT_TOKEN`: the runner token's short form (as GitLab's runner pages show it). */
  readonly shortToken?: string;
  /** `CI_RUNNER_EXECUTABLE_ARCH`: `<os>/<arch>` in Go's names, `linux/amd64`. */
  readonly executableArch: string;
}

/** The runner identity of this app: its version, the platform in Go's names. */
export function appRunnerIdentity(shortToken?: string): RunnerIdentity {
  return {
    version: APP_VERSION,
    revision: 'unknown',
    executableArch: `${goPlatform(process.platform)}/${goArchitecture(process.arch)}`,
    ...(shortToken === undefined ? {} : { shortToken }),
  };
}

/** Where the job runs and as what, for the predefined variables. */
export interface JobSetting {
  readonly buildsDir: string;
  readonly projectDir: string;
  /** Holds the file variables and the scripts (`RUNNER_TEMP_PROJECT_DIR`). */
  readonly tmpDir: string;
  readonly concurrentId: number;
  readonly concurrentProjectId: number;
  readonly runner: RunnerIdentity;
}

/** A variable as the job's process gets it: plain value (masked ones revealed: they are meant for the job). */
export interface ProcessVariable {
  readonly key: string;
  readonly value: string;
  readonly file: boolean;
  readonly raw: boolean;
}

const builtIn = (key: string, value: string): ProcessVariable => ({ key, value, file: false, raw: false });

/**
 * The variables of a job's process in gitlab-runner's order, then expanded as it expands them (the last definition
 * of a name wins; docs/gitlab-protocol.md §3.4):
 * 1. what GitLab always sends, in case this payload lacks it (`CI`, `GITLAB_CI`, `CI_JOB_ID`);
 * 2. the runner's predefined variables: `CI_BUILDS_DIR`, `CI_PROJECT_DIR`, `CI_CONCURRENT_ID`,
 *    `CI_CONCURRENT_PROJECT_ID`, `CI_SERVER=yes`, `CI_JOB_STATUS=running`, `CI_JOB_TIMEOUT`;
 * 3. the job's variables (a variable without a usable name is skipped: a shell could not set it);
 * 4. after them, so a job cannot change them: `CI_SHARED_ENVIRONMENT=true` (jobs share this machine),
 *    `CI_RUNNER_SHORT_TOKEN`, `CI_RUNNER_VERSION`, `CI_RUNNER_REVISION`, `CI_RUNNER_EXECUTABLE_ARCH`,
 *    `RUNNER_TEMP_PROJECT_DIR`.
 */
export function jobVariables(payload: JobPayload, setting: JobSetting): ProcessVariable[] {
  const timeout = payload.runner_info?.timeout;
  const variables: ProcessVariable[] = [
    builtIn('CI', 'true'),
    builtIn('GITLAB_CI', 'true'),
    builtIn('CI_JOB_ID', String(payload.id)),
    builtIn('CI_BUILDS_DIR', setting.buildsDir),
    builtIn('CI_PROJECT_DIR', setting.projectDir),
    builtIn('CI_CONCURRENT_ID', String(setting.concurrentId)),
    builtIn('CI_CONCURRENT_PROJECT_ID', String(setting.concurrentProjectId)),
    builtIn('CI_SERVER', 'yes'),
    builtIn('CI_JOB_STATUS', 'running'),
    ...(typeof timeout === 'number' && timeout > 0 ? [builtIn('CI_JOB_TIMEOUT', String(timeout))] : []),
  ];
  for (const variable of payload.variables ?? []) {
    if (!VARIABLE_NAME.test(variable.key)) continue;
    variables.push({
      key: variable.key,
      value: revealVariable(variable),
      file: variable.file === true,
      raw: variable.raw === true,
    });
  }
  variables.push(
    builtIn('CI_SHARED_ENVIRONMENT', 'true'),
    ...(setting.runner.shortToken === undefined ? [] : [builtIn('CI_RUNNER_SHORT_TOKEN', setting.runner.shortToken)]),
    builtIn('CI_RUNNER_VERSION', setting.runner.version),
    builtIn('CI_RUNNER_REVISION', setting.runner.revision),
    builtIn('CI_RUNNER_EXECUTABLE_ARCH', setting.runner.executableArch),
    builtIn('RUNNER_TEMP_PROJECT_DIR', setting.tmpDir),
  );
  return lastDefinitions(expandVariables(variables));
}

/** One entry per name, the last definition's, in the order names first appeared. */
function lastDefinitions(variables: readonly ProcessVariable[]): ProcessVariable[] {
  const byKey = new Map<string, ProcessVariable>();
  for (const variable of variables) byKey.set(variable.key, variable);
  return [...byKey.values()];
}

/**
 * Writes each file variable (`file: true`) to `<tmpDir>/<KEY>` (mode 0600) and returns the variables with the
 * file's path as their value, as GitLab runners hand file variables to a job.
 */
export async function withFileVariables(
  variables: readonly ProcessVariable[],
  tmpDir: string,
): Promise<ProcessVariable[]> {
  const out: ProcessVariable[] = [];
  for (const variable of variables) {
    if (!variable.file) {
      out.push(variable);
      continue;
    }
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const path = join(tmpDir, variable.key);
    await writeFile(path, variable.value, { mode: 0o600 });
    await chmod(path, 0o600);
    out.push({ ...variable, value: path });
  }
  return out;
}

/** The few variables of the runner's own environment a job may see (`PATH`, `HOME`, `LANG`, …). */
export function inheritedEnvironment(
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** A process environment: the inherited variables, then the job's. */
export function environmentOf(
  variables: readonly ProcessVariable[],
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env = inheritedEnvironment(parent);
  for (const variable of variables) env[variable.key] = variable.value;
  return env;
}
