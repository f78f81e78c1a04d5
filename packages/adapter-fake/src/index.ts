export { FakeGitLab } from './fake-gitlab/fake-gitlab.js';
export type {
  AckWaitStatus,
  FakeGitLabOptions,
  FakeHttpRequest,
  FakeJobEvent,
  FakeJobView,
  FakeReply,
  FakeStatusChange,
} from './fake-gitlab/fake-gitlab.types.js';
export { FakeGitLabServer, type FakeGitLabServerOptions } from './fake-gitlab-server.js';
export { createInMemoryNetwork, InMemoryNetwork, type InMemoryNetworkOptions } from './in-memory-network.js';
