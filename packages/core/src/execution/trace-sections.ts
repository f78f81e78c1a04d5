/*
 * Collapsible sections of a GitLab job log (docs/gitlab-protocol.md §6.6): GitLab's log viewer folds what lies
 * between `section_start:<unix seconds>:<name>` and `section_end:<unix seconds>:<name>`, each followed by a carriage
 * return and an erase-line sequence, and shows the header line and the section's duration. gitlab-runner prints its
 * stages this way (`prepare_executor`, `step_script`, `after_script`, …); an executor of this core may do the same.
 */

const ERASE_LINE = '\r\u001b[0K';
/** GitLab accepts section names of these characters only. */
const SECTION_NAME = /^[a-z0-9_.-]+$/;

function checkedName(name: string): string {
  if (!SECTION_NAME.test(name)) throw new RangeError(`trace section name ${JSON.stringify(name)}: use [a-z0-9_.-]`);
  return name;
}

/**
 * The line that opens section `name` at `at` (epoch ms), with `header` in bold cyan as gitlab-runner shows it.
 * `collapsed` folds the section when the log is opened.
 * @throws {RangeError} when `name` has characters GitLab does not accept
 */
export function sectionStart(name: string, header: string, at: number, options: { collapsed?: boolean } = {}): string {
  const flags = options.collapsed === true ? '[collapsed=true]' : '';
  return `section_start:${Math.floor(at / 1_000)}:${checkedName(name)}${flags}${ERASE_LINE}\u001b[0K\u001b[36;1m${header}\u001b[0;m\n`;
}

/** The line that closes section `name` at `at` (epoch ms). @throws {RangeError} as {@link sectionStart} */
export function sectionEnd(name: string, at: number): string {
  return `section_end:${Math.floor(at / 1_000)}:${checkedName(name)}${ERASE_LINE}\n`;
}
