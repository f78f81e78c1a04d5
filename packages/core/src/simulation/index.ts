/**
 * `@runner-core/core/simulation`: the vocabulary of a simulated GitLab, shared by the fake GitLab
 * (`@runner-core/adapter-fake`) and the contract suites of `@runner-core/core/testing`: server profiles, scripted
 * answers, the request log, and the job payloads a simulated GitLab hands out. Production code (the simulator and
 * the demo of the command line) may import it; nothing here asserts or depends on a test runner.
 */
export {
  type EnqueuedJob,
  type InjectedAnswer,
  type InjectOptions,
  type RecordedAnswer,
  type RecordedRequest,
  type ServerOperation,
  type ServerProfile,
  type SimulatedGitLab,
  type SimulatedJobView,
  serverProfiles,
  type TransportFault,
} from './simulated-gitlab.js';
export { aWireJob, defaultFailureReasons, defaultMaskedValue, type JobSpec, type WireVariable } from './wire-job.js';
