import type { JobSpec } from '@runner-core/core/simulation';
import { isRecord } from './http-answers.js';

/**
 * Checks a job spec's shape: it may arrive as JSON over the simulator's control endpoint.
 * @throws {TypeError} naming the field
 */
export function validateSpec(spec: unknown): asserts spec is JobSpec {
  const fail = (field: string, expected: string): never => {
    throw new TypeError(`FakeGitLab.enqueueJob: ${field} must be ${expected}`);
  };
  if (!isRecord(spec)) return fail('the job spec', 'an object');
  for (const field of ['name', 'stage'] as const) {
    if (spec[field] !== undefined && typeof spec[field] !== 'string') fail(field, 'a string');
  }
  const { script, variables, features, timeoutSeconds, payload } = spec;
  if (script !== undefined && !(Array.isArray(script) && script.every((line) => typeof line === 'string'))) {
    fail('script', 'a list of strings');
  }
  if (variables !== undefined) {
    if (!Array.isArray(variables)) fail('variables', 'a list');
    (variables as unknown[]).forEach((variable, index) => {
      if (!isRecord(variable) || typeof variable.key !== 'string' || typeof variable.value !== 'string') {
        fail(`variables[${index}]`, 'an object with string key and value');
      }
    });
  }
  if (features !== undefined && !isRecord(features)) fail('features', 'an object');
  if (payload !== undefined && !isRecord(payload)) fail('payload', 'an object');
  if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && (timeoutSeconds as number) > 0)) {
    fail('timeoutSeconds', 'a positive integer');
  }
}
