import type { FakeGitLab } from '@runner-core/adapter-fake';
import type { RecordedAnswer } from '@runner-core/core/simulation';
import type { Ledger } from './ledger.js';

/** Fake time as an offset from the fake clock's start (2026-01-01T00:00:00Z), to the millisecond. */
export function offset(at: number): string {
  const ms = at - Date.UTC(2026, 0, 1);
  const seconds = Math.floor(ms / 1_000);
  const clock = `${Math.floor(seconds / 3_600)}h${String(Math.floor((seconds % 3_600) / 60)).padStart(2, '0')}m${String(seconds % 60).padStart(2, '0')}s`;
  return `+${clock}.${String(ms % 1_000).padStart(3, '0')}`;
}

/**
 * Everything the soak knows of one job, for `--explain`: what the harness booked, the runner processes involved,
 * GitLab's view and history, and every request about the job (the request log is kept whole when explaining).
 */
export function explainJob(jobId: number, gitlab: FakeGitLab, ledger: Ledger): string {
  const lines: string[] = [`job ${jobId}:`];
  const entry = ledger.jobs.get(jobId);
  if (entry === undefined) {
    lines.push('  never reached the runner');
  } else {
    const { receivedToken: _token, written, ...booked } = entry;
    lines.push(`  harness: ${JSON.stringify({ ...booked, writtenBytes: written.length })}`);
    for (const index of new Set([entry.receivedBy, entry.startedBy])) {
      const generation = index === undefined ? undefined : ledger.generation(index);
      if (generation === undefined) continue;
      const died =
        generation.crashedAt === undefined ? 'alive at the end' : `killed at ${offset(generation.crashedAt)}`;
      lines.push(
        `  runner process ${generation.index}: ${died}, kept its final state: ${generation.keptFinal.has(jobId)}`,
      );
    }
  }
  let view: ReturnType<FakeGitLab['job']>;
  try {
    view = gitlab.job(jobId);
  } catch {
    lines.push('  unknown to GitLab');
    return lines.join('\n');
  }
  const ending = [view.failureReason, view.exitCode === undefined ? undefined : `exit ${view.exitCode}`].filter(
    Boolean,
  );
  lines.push(
    `  GitLab: ${view.status}${ending.length > 0 ? ` (${ending.join(', ')})` : ''}, manager ${view.runnerManager ?? 'none'}`,
  );
  for (const change of view.history) lines.push(`    ${offset(change.at)} ${change.event} → ${change.status}`);
  lines.push('  requests:');
  for (const request of gitlab.requestsFor(jobId)) {
    lines.push(`    ${offset(request.at)} ${request.operation} ${request.state ?? ''} → ${answerOf(request.answer)}`);
  }
  lines.push(`  trace: ${JSON.stringify(view.trace)}`);
  return lines.join('\n');
}

function answerOf(answer: RecordedAnswer): string {
  if (answer.kind === 'fault') return `fault ${answer.fault} (injected)`;
  return `${answer.status}${answer.jobStatus === undefined ? '' : ` Job-Status: ${answer.jobStatus}`}${answer.injected ? ' (injected)' : ''}`;
}
