/**
 * `@runner-core/core/testing`: what tests of code above the ports need — the shared contract suites every `Network`
 * adapter runs (`networkContract`, `lifecycleContract`), a controllable clock, a scripted network and executor,
 * builders (object mothers). Never imported by production code; the fake GitLab's vocabulary is
 * `@runner-core/core/simulation`.
 */
export { aJobToken } from '../simulation/sequence.js';
export {
  aJobPayload,
  anUpdateResult,
  aPatchTraceResult,
  aRequestJobResult,
  aRunnerStatusResult,
  aRunnerToken,
  jobCredentials,
  runnerCredentials,
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
export { type HarnessFactory, type NetworkHarness, networkHarness } from './network-harness.js';
export { type ExecutorScript, ScriptedExecutor } from './scripted-executor.js';
export { jobAnswer, type Scripted, type ScriptedCall, ScriptedNetwork, sentState } from './scripted-network.js';
export { SecretScan } from './secret-scan.js';
export { TextTraceSink } from './text-trace-sink.js';
