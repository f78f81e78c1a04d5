import { type ExecutionResult, MASKED } from '@runner-core/core';
import { defaultMaskedValue } from '@runner-core/core/simulation';
import { mulberry32 } from './prng.js';

/** One write of a job's output, after a pause on the fake clock. */
export interface ScriptStep {
  readonly afterMs: number;
  readonly text: string;
}

/** What the soak executor does with a job: everything follows from the job id, so the expectation is known. */
export interface JobScript {
  readonly steps: readonly ScriptStep[];
  readonly result: ExecutionResult;
}

/**
 * The script of a job, from its id alone (no seed): a retry copy of a lapsed job has a new id and so a script of its
 * own, and a report can be checked without knowing how the run got there. The masked `DEPLOY_PASSWORD` of the fake's
 * default payload is printed whole in some jobs and split across two writes in others (the session must mask both);
 * some lines carry multi-byte characters, so a patch boundary may cut one.
 */
export function scriptOf(jobId: number): JobScript {
  const random = mulberry32(jobId * 2_654_435_761);
  const draw = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const writes = draw(1, 6);
  const totalMs = random() < 0.15 ? 0 : draw(1, 90) * 1_000;
  const secretAt = draw(0, writes - 1);
  const split = writes > 1 && secretAt < writes - 1 && random() < 0.5;
  const cut = draw(1, defaultMaskedValue.length - 1);
  const steps: ScriptStep[] = [];
  for (let index = 0; index < writes; index++) {
    let text = `job ${jobId} step ${index + 1}/${writes} ✓`;
    if (index === secretAt)
      text += split ? ` login=${defaultMaskedValue.slice(0, cut)}` : ` login=${defaultMaskedValue}\n`;
    else if (split && index === secretAt + 1) text = `${defaultMaskedValue.slice(cut)} (continued) ${text}\n`;
    else text += '\n';
    if (random() < 0.05) text += `${'ü'.repeat(draw(100, 3_000))}\n`;
    steps.push({ afterMs: index === 0 ? 0 : Math.round(totalMs / (writes - 1)), text });
  }
  return { steps, result: resultOf(jobId) };
}

/** success for 7 ids in 10; script_failure with an exit code for 2; job_execution_timeout for 1. */
function resultOf(jobId: number): ExecutionResult {
  switch (jobId % 10) {
    case 7:
    case 8:
      return { kind: 'failed', failureReason: 'script_failure', exitCode: 1 + (jobId % 7) };
    case 9:
      return { kind: 'failed', failureReason: 'job_execution_timeout' };
    default:
      return { kind: 'success' };
  }
}

/** Everything the script writes. */
export function fullOutput(script: JobScript): string {
  return script.steps.map((step) => step.text).join('');
}

/** What GitLab must show for raw output: the masked value as `[MASKED]`, nothing else changed. */
export function maskedTrace(raw: string): string {
  return raw.split(defaultMaskedValue).join(MASKED);
}
