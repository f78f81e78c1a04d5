import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type JobPayload, revealVariable } from '@runner-core/core';

/** Variables of the runner's own environment a job may see; nothing else is inherited (no runner token!). */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'USER', 'SHELL'];

/**
 * The environment of a job's process: a few harmless variables of the runner's (`PATH`, `HOME`, …), `CI=true`,
 * `CI_PROJECT_DIR`, then the job's variables with masked values revealed (they are meant for the job). File
 * variables (`file: true`) are written to `<dir>/.runner-core-vars/<KEY>` (mode 0600) and the variable holds the
 * path, as GitLab runners do.
 */
export async function jobEnvironment(
  payload: JobPayload,
  buildDir: string,
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  env.CI = 'true';
  env.CI_PROJECT_DIR = buildDir;
  env.CI_JOB_ID = String(payload.id);
  const fileDir = join(buildDir, '.runner-core-vars');
  for (const variable of payload.variables ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable.key)) continue;
    const value = revealVariable(variable);
    if (variable.file === true) {
      await mkdir(fileDir, { recursive: true, mode: 0o700 });
      const path = join(fileDir, variable.key);
      await writeFile(path, value, { mode: 0o600 });
      await chmod(path, 0o600);
      env[variable.key] = path;
    } else {
      env[variable.key] = value;
    }
  }
  return env;
}
