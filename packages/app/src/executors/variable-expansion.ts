/*
 * How gitlab-runner expands `$NAME` and `${NAME}` in variable values before a job sees them (docs/gitlab-protocol.md
 * §3.4): one pass, each reference replaced by the last value defined under that name as it came (not itself
 * expanded), an unknown name by nothing; `$$` is a literal `$`; the one-character special names of a shell (`$?`,
 * `$1`, …) become nothing; a `$` followed by anything else stays. A variable marked `raw` is not expanded.
 */

/** Shell special parameters that are one character long. */
const SPECIAL = new Set(['*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Where a reference after a `$` ends: its name ('' for none) and how many characters it takes. */
function referenceAt(text: string, start: number): { readonly name: string; readonly width: number } {
  const first = text[start] ?? '';
  if (first === '{') {
    const next = text[start + 1] ?? '';
    if (SPECIAL.has(next) && text[start + 2] === '}') return { name: next, width: 3 };
    const close = text.indexOf('}', start + 1);
    // NOTE: `${}` and an unclosed `${` are bad syntax, which the expansion drops (the `$` and the `{`).
    if (close === -1) return { name: '', width: 1 };
    if (close === start + 1) return { name: '', width: 2 };
    return { name: text.slice(start + 1, close), width: close - start + 1 };
  }
  if (SPECIAL.has(first)) return { name: first, width: 1 };
  let end = start;
  while (end < text.length && NAME_CHAR.test(text[end] ?? '')) end += 1;
  return { name: text.slice(start, end), width: end - start };
}

/** `value` with its references replaced through `lookup` (which is asked only for real names). */
export function expandValue(value: string, lookup: (name: string) => string): string {
  if (!value.includes('$')) return value;
  let out = '';
  let from = 0;
  for (let at = value.indexOf('$'); at !== -1 && at + 1 < value.length; at = value.indexOf('$', from)) {
    out += value.slice(from, at);
    const { name, width } = referenceAt(value, at + 1);
    if (name === '' && width === 0) out += '$';
    else if (name === '$') out += '$';
    else if (name !== '' && !SPECIAL.has(name)) out += lookup(name);
    from = at + 1 + width;
  }
  return out + value.slice(from);
}

/** A variable as the expansion sees it. */
export interface ExpandableVariable {
  readonly key: string;
  readonly value: string;
  readonly raw?: boolean;
}

/** Every variable with its value expanded against the values as they came; the last definition of a name wins. */
export function expandVariables<T extends ExpandableVariable>(variables: readonly T[]): T[] {
  const latest = new Map<string, string>();
  for (const variable of variables) latest.set(variable.key, variable.value);
  const lookup = (name: string): string => latest.get(name) ?? '';
  return variables.map((variable) =>
    variable.raw === true ? variable : { ...variable, value: expandValue(variable.value, lookup) },
  );
}
