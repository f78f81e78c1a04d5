import type { ProcessVariable } from './job-environment.js';

/** Quotes `text` for bash as one word (any character but NUL survives). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The variables as a file bash sources: one `export KEY='value'` per variable. Sourced rather than passed in the
 * environment, as gitlab-runner writes them into its scripts: the operating system caps each environment entry
 * (128 KiB on Linux), and a job may carry larger variables.
 */
export function exportScript(variables: readonly ProcessVariable[]): string {
  let text = '';
  for (const variable of variables) text += `export ${variable.key}=${shellQuote(variable.value)}\n`;
  return text;
}

/** How a command is echoed: green `$ command`; only the first line of a multi-line one, as gitlab-runner shows it. */
function echoed(command: string): string {
  const newline = command.indexOf('\n');
  const shown = newline === -1 ? command : `${command.slice(0, newline)} # collapsed multi-line command`;
  // NOTE: printf so that no character of the command is interpreted.
  return `printf '\\033[32;1m%s\\033[0;m\\n' ${shellQuote(`$ ${shown}`)}`;
}

/** What a step script starts with. */
export interface StepPrelude {
  /** Sourced first: the job's variables (see {@link exportScript}). */
  readonly variablesFile?: string;
  /** Exported after the variables file (`CI_JOB_STATUS` of an after_script). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** Where the commands run. */
  readonly workDir?: string;
}

/**
 * The bash script of one step: the variables sourced, the work folder entered, strict mode (`set -eo pipefail`),
 * then each command echoed like a runner (`$ make test`) and run; the first failing command ends the step.
 */
export function shellScript(commands: readonly string[], prelude: StepPrelude = {}): string {
  const parts: string[] = [];
  if (prelude.variablesFile !== undefined) parts.push(`. ${shellQuote(prelude.variablesFile)}`);
  for (const [key, value] of Object.entries(prelude.overrides ?? {})) parts.push(`export ${key}=${shellQuote(value)}`);
  if (prelude.workDir !== undefined) parts.push(`cd ${shellQuote(prelude.workDir)}`);
  parts.push('set -eo pipefail', '');
  for (const command of commands) parts.push(echoed(command), command);
  return `${parts.join('\n')}\n`;
}
