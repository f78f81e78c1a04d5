import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutorError, type JobPayload } from '@runner-core/core';

/** Build folders are `<base>/runner-core-job-<job id>-<random>`, so a restart finds what a killed runner left. */
const BUILD_DIR_PREFIX = 'runner-core-job-';
/** A path segment a project folder may use. */
const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** The folders of one job, all inside its build folder (removed with it). */
export interface BuildFolders {
  /** `<base>/runner-core-job-<id>-<random>`: everything of the job. */
  readonly root: string;
  /** `CI_BUILDS_DIR`: `<root>/builds`. */
  readonly buildsDir: string;
  /** `CI_PROJECT_DIR`: `<buildsDir>/<project path>`, where the script runs. */
  readonly projectDir: string;
  /** `<projectDir>.tmp`: file variables and scripts, as gitlab-runner keeps them beside the project (mode 0700). */
  readonly tmpDir: string;
}

/** The project's folder below the builds folder: its full path when every segment is plain, else `project-<id>`. */
export function projectFolderOf(payload: JobPayload): string {
  const path = payload.job_info?.project_full_path;
  const segments = typeof path === 'string' ? path.split('/') : [];
  const plain =
    segments.length > 0 && segments.every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
  if (plain) return join(...segments);
  return `project-${payload.job_info?.project_id ?? 0}`;
}

/** Makes a job's folders under `baseDir`. @throws {ExecutorError} `executor.prepare`, saying where and why */
export async function makeBuildFolders(baseDir: string, payload: JobPayload): Promise<BuildFolders> {
  try {
    const root = await mkdtemp(join(baseDir, `${BUILD_DIR_PREFIX}${payload.id}-`));
    const buildsDir = join(root, 'builds');
    const projectDir = join(buildsDir, projectFolderOf(payload));
    const tmpDir = `${projectDir}.tmp`;
    await mkdir(projectDir, { recursive: true, mode: 0o700 });
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    return { root, buildsDir, projectDir, tmpDir };
  } catch (error) {
    throw new ExecutorError(
      'executor.prepare',
      `could not make the build folder in ${baseDir}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Removes every build folder of job `jobId` under `baseDir` (what a runner killed while the job ran left). */
export async function removeBuildFolders(baseDir: string, jobId: number): Promise<void> {
  const prefix = `${BUILD_DIR_PREFIX}${jobId}-`;
  const names = await readdir(baseDir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix)) await rm(join(baseDir, name), { recursive: true, force: true });
  }
}
