import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type JournalEntry,
  type Logger,
  type OutboxEntry,
  Secret,
  type StateStore,
  type StoredState,
  silentLogger,
} from '@runner-core/core';
import { z } from 'zod';

/** Options of {@link FileStateStore.open}. */
export interface FileStateStoreOptions {
  /** The state directory (`--state-dir`); created 0700 when missing. */
  readonly dir: string;
  /** The GitLab URL the entries belong to. */
  readonly gitlabUrl: string;
  /** The runner the entries belong to. */
  readonly runnerToken: Secret;
  /** Told of unreadable entries. @default silentLogger */
  readonly logger?: Logger;
}

/**
 * The default state directory: `$XDG_STATE_HOME/runner-core`, else `~/.local/state/runner-core` (the XDG base
 * directory rule for state that outlives a run).
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_STATE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'runner-core');
}

const jobSchema = z.object({ id: z.number().int().positive(), token: z.string().min(1) });
const journalSchema = z.object({
  version: z.literal(1),
  job: jobSchema,
  phase: z.enum(['pending', 'confirming', 'running']),
  mode: z.enum(['two-phase', 'legacy', 'unknown']),
  receivedAt: z.number(),
});
const outboxSchema = z.object({
  version: z.literal(1),
  job: jobSchema,
  state: z.enum(['success', 'failed']),
  failureReason: z.string().optional(),
  exitCode: z.number().int().optional(),
  trace: z.object({
    offset: z.number().int().nonnegative().optional(),
    tail: z.string(),
    checksum: z.string().optional(),
    bytesize: z.number().int().nonnegative().optional(),
  }),
  finishedAt: z.number(),
});

/**
 * The {@link StateStore} on disk: one JSON file per entry under `<dir>/runners/<scope>/{journal,outbox}/<job id>.json`,
 * where `scope` is a hash of the GitLab URL and the runner token, so several runners share a directory without
 * touching each other's entries. Every write is atomic and durable — a temporary file (0600) written and fsynced,
 * renamed over the entry, the folder fsynced — so a runner killed at any moment leaves either the old entry or the
 * new one, never half of one. Directories are 0700. The files hold the job tokens a later report needs, which is why
 * nobody but the runner's user may read them.
 */
export class FileStateStore implements StateStore {
  readonly #journalDir: string;
  readonly #outboxDir: string;
  readonly #logger: Logger;

  private constructor(scopeDir: string, logger: Logger) {
    this.#journalDir = join(scopeDir, 'journal');
    this.#outboxDir = join(scopeDir, 'outbox');
    this.#logger = logger;
  }

  /** The folder of one runner's entries in a state directory. */
  static scopeDir(options: Pick<FileStateStoreOptions, 'dir' | 'gitlabUrl' | 'runnerToken'>): string {
    const scope = createHash('sha256')
      .update(`${options.gitlabUrl.replace(/\/+$/, '')}\n${options.runnerToken.reveal()}`)
      .digest('hex')
      .slice(0, 16);
    return join(options.dir, 'runners', scope);
  }

  /** Opens (creating when missing) the store of one runner at one GitLab. @throws when the folders cannot be made */
  static async open(options: FileStateStoreOptions): Promise<FileStateStore> {
    const scopeDir = FileStateStore.scopeDir(options);
    for (const dir of [options.dir, join(options.dir, 'runners'), scopeDir]) await privateDir(dir);
    const store = new FileStateStore(scopeDir, options.logger ?? silentLogger);
    await privateDir(store.#journalDir);
    await privateDir(store.#outboxDir);
    return store;
  }

  async recordJob(entry: JournalEntry): Promise<void> {
    await writeAtomically(this.#journalDir, `${entry.job.id}.json`, {
      version: 1,
      job: { id: entry.job.id, token: entry.job.token.reveal() },
      phase: entry.phase,
      mode: entry.mode,
      receivedAt: entry.receivedAt,
    });
  }

  async forgetJob(jobId: number): Promise<void> {
    await removeEntry(this.#journalDir, `${jobId}.json`);
  }

  async putFinalState(entry: OutboxEntry): Promise<void> {
    await writeAtomically(this.#outboxDir, `${entry.job.id}.json`, {
      version: 1,
      job: { id: entry.job.id, token: entry.job.token.reveal() },
      state: entry.state,
      ...(entry.failureReason === undefined ? {} : { failureReason: entry.failureReason }),
      ...(entry.exitCode === undefined ? {} : { exitCode: entry.exitCode }),
      trace: {
        ...(entry.trace.offset === undefined ? {} : { offset: entry.trace.offset }),
        tail: Buffer.from(entry.trace.tail).toString('base64'),
        ...(entry.trace.checksum === undefined ? {} : { checksum: entry.trace.checksum }),
        ...(entry.trace.bytesize === undefined ? {} : { bytesize: entry.trace.bytesize }),
      },
      finishedAt: entry.finishedAt,
    });
  }

  async removeFinalState(jobId: number): Promise<void> {
    // NOTE: the outbox entry goes first: were the process killed between the two, the journal entry alone would
    // report the job again as a crash, which GitLab refuses (the job is finished), and the entry would go then.
    await removeEntry(this.#outboxDir, `${jobId}.json`);
    await removeEntry(this.#journalDir, `${jobId}.json`);
  }

  async load(): Promise<StoredState> {
    const journal = await this.#read(this.#journalDir, (raw) => {
      const entry = journalSchema.parse(raw);
      return { job: credentials(entry.job), phase: entry.phase, mode: entry.mode, receivedAt: entry.receivedAt };
    });
    const outbox = await this.#read(this.#outboxDir, (raw): OutboxEntry => {
      const entry = outboxSchema.parse(raw);
      const { offset, checksum, bytesize } = entry.trace;
      return {
        job: credentials(entry.job),
        state: entry.state,
        ...(entry.failureReason === undefined ? {} : { failureReason: entry.failureReason }),
        ...(entry.exitCode === undefined ? {} : { exitCode: entry.exitCode }),
        trace: {
          ...(offset === undefined ? {} : { offset }),
          tail: new Uint8Array(Buffer.from(entry.trace.tail, 'base64')),
          ...(checksum === undefined ? {} : { checksum }),
          ...(bytesize === undefined ? {} : { bytesize }),
        },
        finishedAt: entry.finishedAt,
      };
    });
    return { journal, outbox };
  }

  /** Every entry of a folder; a temporary file left by a kill is removed, an unreadable entry set aside. */
  async #read<T>(dir: string, decode: (raw: unknown) => T): Promise<T[]> {
    const entries: T[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) {
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        entries.push(decode(JSON.parse(await readFile(path, 'utf8'))));
      } catch (error) {
        // NOTE: an entry that cannot be read is kept aside for a human, never deleted and never sent half-read.
        this.#logger.error('an entry of the state directory is unreadable; it is set aside', {
          entry: path,
          error: error instanceof z.ZodError ? (error.issues[0]?.message ?? 'invalid') : 'not JSON',
        });
        await rename(path, `${path}.unreadable`);
      }
    }
    return entries;
  }
}

function credentials(job: { readonly id: number; readonly token: string }): JournalEntry['job'] {
  return { id: job.id, token: new Secret(job.token) };
}

async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Writes `value` as JSON to `dir/name` so that a kill at any point leaves the old file or the new one. */
async function writeAtomically(dir: string, name: string, value: unknown): Promise<void> {
  const temporary = join(dir, `.${name}.${process.pid}.${randomUUID()}.tmp`);
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dir, name));
  await syncDir(dir);
}

async function removeEntry(dir: string, name: string): Promise<void> {
  try {
    await unlink(join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await syncDir(dir);
}

/** Makes a rename or an unlink in `dir` durable (the folder's own entry list reaches the disk). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
