import type { JobPayload } from '../job/job.types.js';
import { Secret } from '../secret/secret.js';
import type { WireJobPayload } from './job-payload-decoding.js';

/**
 * The inverse of `decodeJobPayload`: the JSON GitLab would send for this payload, secrets revealed. For fakes that
 * serve payloads; never log its result.
 */
export function jobPayloadToWire(payload: JobPayload): WireJobPayload {
  // NOTE: JSON.stringify applies toJSON (which redacts) before the replacer, so read the holder's original value.
  return JSON.parse(
    JSON.stringify(payload, function reveal(this: Record<string, unknown>, key: string, value: unknown) {
      const original = this[key];
      return original instanceof Secret ? original.reveal() : value;
    }),
  );
}
