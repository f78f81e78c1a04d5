/**
 * `@runner-core/core/wire`: the GitLab runner API on the wire, written once and shared by every `Network` adapter.
 * An adapter supplies a {@link WireTransport}; {@link RunnerApiClient} does the rest. The encoders, decoders and
 * classifiers are exported for transports and table tests.
 */
export {
  classifyPatchTrace,
  classifyRequestJob,
  classifyRunnerStatus,
  classifyUpdateJob,
  jobAnswerHints,
  lastUpdateOf,
  parseServerWait,
  parseUpdateIntervalMs,
  type WireAnswer,
  wireAnswer,
} from './answer-classification.js';
export {
  decodePatchTrace,
  decodeRequestJob,
  decodeRunnerStatus,
  decodeUpdateJob,
  isJsonContentType,
  toWireAnswer,
} from './answer-decoding.js';
export {
  decodeJobPayload,
  decodeParsedJobPayload,
  JobPayloadError,
  readableCredentials,
  type WireJobPayload,
} from './job-payload-decoding.js';
export { jobPayloadToWire } from './job-payload-encoding.js';
export {
  type EncodeContext,
  encodePatchTrace,
  encodeRequestJob,
  encodeRunnerStatus,
  encodeUpdateJob,
} from './request-encoding.js';
export {
  DEFAULT_MAX_JOB_PAYLOAD_BYTES,
  MAX_ANSWER_BYTES,
  newRequestId,
  RunnerApiClient,
  type RunnerApiClientOptions,
  type WireExchange,
} from './runner-api-client.js';
export { isRecord, type ParsedJson, parseJson, serverMessage, statusLine } from './server-message.js';
export type { RunnerApiOperation, WireHeaders, WireRequest, WireResponse } from './wire-message.js';
export type { WireTransport } from './wire-transport.port.js';
