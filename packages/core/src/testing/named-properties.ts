/** One rule a test run must keep: `undefined` when it holds, else what broke it, in words. */
export type NamedProperty<R> = (run: R) => string | undefined;

/**
 * Every rule a run broke, as `name: what broke it` — the shape the property tests of this repository report
 * (`expect(violations(properties, run)).toEqual([])` prints each broken rule by name).
 */
export function violations<R>(properties: Readonly<Record<string, NamedProperty<R>>>, run: R): string[] {
  return Object.entries(properties).flatMap(([name, property]) => {
    const violation = property(run);
    return violation === undefined ? [] : [`${name}: ${violation}`];
  });
}
