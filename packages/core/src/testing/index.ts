export {
  aJobPayload,
  aJobToken,
  anUpdateResult,
  aPatchTraceResult,
  aRequestJobResult,
  aRunnerStatusResult,
  aRunnerToken,
  aWireJob,
  defaultFailureReasons,
  defaultMaskedValue,
  type JobSpec,
  jobCredentials,
  runnerCredentials,
  type WireVariable,
} from './builders.js';
export { FakeClock } from './fake-clock.js';
export {
  type LifecycleContractOptions,
  type LifecycleHarness,
  type LifecycleHarnessFactory,
  lifecycleContract,
} from './lifecycle.contract.js';
export {
  type ContractAssertion,
  type ContractExpect,
  type ContractTest,
  type ContractTestContext,
  type NetworkContractOptions,
  networkContract,
} from './network.contract.js';
export {
  type ContractGitLab,
  type ContractJobView,
  type EnqueuedJob,
  type HarnessFactory,
  type InjectedAnswer,
  type InjectOptions,
  type NetworkHarness,
  networkHarness,
  type RecordedAnswer,
  type RecordedRequest,
  type ServerOperation,
  type ServerProfile,
  serverProfiles,
  type TransportFault,
} from './network-harness.js';
export { type ExecutorScript, ScriptedExecutor } from './scripted-executor.js';
export { jobAnswer, type Scripted, type ScriptedCall, ScriptedNetwork, sentState } from './scripted-network.js';
export { TextTraceSink } from './text-trace-sink.js';
