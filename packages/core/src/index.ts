export { CLOCK, type Clock, MAX_TIMER_MS, systemClock, type Timers, timerClock } from './clock/clock.port.js';
export { ExecutorError, type ExecutorErrorCode } from './execution/executor.errors.js';
export {
  EXECUTOR,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  type JobStopReason,
  type TraceSink,
} from './execution/executor.port.js';
export { sectionEnd, sectionStart } from './execution/trace-sections.js';
export {
  type GitInfo,
  type JobCredentials,
  type JobFeatures,
  type JobInfo,
  type JobPayload,
  type JobRunnerInfo,
  type JobStep,
  type JobVariable,
  jobCredentialsOf,
  revealVariable,
  type StepWhen,
} from './job/job.types.js';
export {
  type ConfirmationMode,
  type ConfirmationOutcome,
  type ConfirmedJob,
  type ConfirmPolicy,
  isRunnable,
  type JobConfirmationOptions,
  type OutcomeKind,
  type PendingJob,
  type RefusedOutcome,
  type RefusedOutcomeKind,
  type RunnableOutcome,
  type RunnableOutcomeKind,
  type StrategyChoice,
  type StrategyName,
} from './job-confirmation/confirmation.types.js';
export { JOB_CONFIRMATION, JobConfirmation, type JobConfirmationDeps } from './job-confirmation/job-confirmation.js';
export type {
  ConfirmationAnswer,
  ConfirmationStrategy,
} from './job-confirmation/strategies/confirmation-strategy.port.js';
export { RunnerStatusPostStrategy } from './job-confirmation/strategies/runner-status-post.strategy.js';
export { StatePutStrategy } from './job-confirmation/strategies/state-put.strategy.js';
export { type FinalUpdateOptions, type FinalUpdateResult, sendFinalState } from './job-session/final-update.js';
export {
  JOB_SESSION,
  type JobReport,
  JobSession,
  type JobSessionDeps,
  type JobSessionOptions,
  type PrepareJob,
} from './job-session/job-session.js';
export { LOGGER, type LogFields, type Logger, silentLogger } from './logger/logger.port.js';
export {
  DEFAULT_TOKEN_PREFIXES,
  type FlushableSink,
  MASKED,
  maskedValuesOf,
  maskingSink,
  maskText,
  tokenPrefixesOf,
} from './masking/trace-masking.js';
export {
  ClientConfigError,
  faultDetail,
  MalformedResponseError,
  NetworkError,
  type NetworkErrorCode,
  ResponseTooLargeError,
  TransportError,
  UnexpectedStatusError,
} from './network/network.errors.js';
export { NETWORK, type Network } from './network/network.port.js';
export type {
  FailureReason,
  JobAnswerHints,
  JobStatus,
  PatchTraceInput,
  PatchTraceResult,
  RequestJobInput,
  RequestJobResult,
  RunnerStatusInput,
  RunnerStatusResult,
  ServerWait,
  UpdateJobInput,
  UpdateJobResult,
  UpdateJobState,
} from './network/network.types.js';
export {
  type RunnerCredentials,
  type RunnerFeatures,
  type RunnerInfo,
  runnerFeatures,
  runnerInfo,
} from './network/runner-info.js';
export { goArchitecture, goPlatform, type UserAgentParts, userAgent } from './network/runner-platform.js';
export { EventRecorder } from './observer/event-recorder.js';
export {
  fanOut,
  type JobOperation,
  nullObserver,
  OBSERVER,
  type Observer,
  type RunnerEvent,
} from './observer/observer.port.js';
export { type Attempt, type GatedCall, type GatedCallDeps, type GatedResult, gatedCall } from './retry/gated-call.js';
export {
  defaultRetryPolicy,
  isRetryableStatus,
  noDelayRetryPolicy,
  type RetryPolicy,
  retryWait,
  type WaitRule,
} from './retry/retry-policy.js';
export { type GateCaller, type GateEntry, ServerGate, type ServerGateOptions } from './retry/server-gate.js';
export { JobSlots, type ReleaseSlot } from './run-loop/job-slots.js';
export { RUN_LOOP, RunLoop, type RunLoopOptions, type RunSummary } from './run-loop/run-loop.js';
export { redact, Secret, secret, shortToken } from './secret/secret.js';
export { InMemoryStateStore } from './state/in-memory-state-store.js';
export {
  executionResultOf,
  OutboxCourier,
  type OutboxCourierDeps,
  type OutboxCourierOptions,
} from './state/outbox-courier.js';
export { RESTART_NOTICE, type RecoveryDeps, recoverState } from './state/recovery.js';
export {
  type JournalEntry,
  type OutboxEntry,
  STATE_STORE,
  type StateStore,
  type StoredState,
} from './state/state-store.port.js';
export {
  type FlushResult,
  MAX_UPDATE_INTERVAL_MS,
  TraceShipper,
  type TraceShipperOptions,
  type TraceStopReason,
} from './trace/trace-shipper.js';
