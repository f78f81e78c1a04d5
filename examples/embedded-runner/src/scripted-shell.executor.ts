import type { ConfirmedJob, ExecutionContext, ExecutionResult, Executor } from '@runner-core/core';

/**
 * An embedder's own executor, in process: it "runs" each line of the job's `script` step by echoing it, and treats
 * `exit N` as the script's exit code. A real one would drive a VM, a container or a remote worker; what matters here
 * is the contract: it receives only a `ConfirmedJob`, writes raw output (the core masks secrets), stops when the
 * signal aborts, and says how the script ended.
 */
export class ScriptedShellExecutor implements Executor {
  async execute(job: ConfirmedJob, context: ExecutionContext): Promise<ExecutionResult> {
    const script = job.payload.steps?.find((step) => step.name === 'script')?.script ?? [];
    for (const line of script) {
      if (context.signal.aborted) return { kind: 'failed', failureReason: 'job_canceled' };
      context.trace.write(`$ ${line}\n`);
      const exit = /^exit (\d+)$/.exec(line.trim());
      if (exit !== null) {
        const exitCode = Number(exit[1]);
        if (exitCode !== 0) return { kind: 'failed', failureReason: 'script_failure', exitCode };
        break;
      }
      // Output as a job would print it; variables are expanded from the payload, masked ones included.
      context.trace.write(`${expand(line, job)}\n`);
    }
    return { kind: 'success' };
  }
}

/** `echo $NAME` → the variable's value; anything else is printed as it is. */
function expand(line: string, job: ConfirmedJob): string {
  const echoed = /^echo (.*)$/.exec(line);
  if (echoed === null) return `(ran: ${line})`;
  return (echoed[1] ?? '').replace(/\$([A-Z_][A-Z0-9_]*)/g, (_match, name: string) => {
    const variable = job.payload.variables?.find((candidate) => candidate.key === name);
    if (variable === undefined) return '';
    return variable.masked ? variable.value.reveal() : variable.value;
  });
}
