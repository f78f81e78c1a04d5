import type { Agent } from 'node:http';
import axios from 'axios';

/** The slice of an axios instance the bench uses. */
export interface BareAxios {
  request(config: {
    readonly method: string;
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly data: Buffer;
  }): Promise<{ readonly status: number; readonly data: unknown }>;
}

/**
 * axios, configured as `HttpTransport` configures it (adapter-http/src/http-transport.ts) minus everything the wire
 * codec and the transport wrap around it: kept-alive agent, every status an answer, no redirects, bodies as bytes,
 * no transforms, no proxy lookup. The same axios version, from the catalog, as `HttpNetwork` runs.
 */
export async function createBareAxios(baseUrl: string, agent: Agent): Promise<BareAxios> {
  return axios.create({
    baseURL: baseUrl,
    httpAgent: agent,
    validateStatus: () => true,
    maxRedirects: 0,
    responseType: 'arraybuffer',
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    // HttpTransport passes `proxy: false` whenever no proxy applies; without it axios reads the environment per call.
    proxy: false,
  });
}
