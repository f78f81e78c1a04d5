/** One counter for every builder, so ids and tokens never collide within a test run. */
let sequence = 0;

/** The next number of the shared sequence (1, 2, 3…). */
export function nextSequence(): number {
  sequence += 1;
  return sequence;
}

/** A job token shaped like GitLab's (`glcbt-` + 20 characters); a new one on every call. */
export function aJobToken(): string {
  return `glcbt-${`jobtoken${nextSequence()}`.padEnd(20, 'x')}`;
}
