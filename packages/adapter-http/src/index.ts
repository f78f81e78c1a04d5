export { createHttpNetwork, HttpNetwork } from './http-network.js';
export type { HttpNetworkOptions } from './http-network.options.js';
