import type { Agent } from 'node:http';
import axios, { Axios } from 'axios';

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
 * axios as an application would set it up for this job: `axios.create` with the options `HttpTransport` needs
 * (kept-alive agent, every status an answer, no redirects, bodies as bytes, no transforms, no proxy lookup) and
 * nothing the wire codec and the transport wrap around it. The reference the targets are measured against. The same
 * axios version, from the catalog, as `HttpNetwork` runs.
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

/**
 * axios as `HttpTransport` builds it (adapter-http/src/http-transport.ts): a bare `Axios` instance holding only the
 * options above, without axios's global defaults that `axios.create` merges into every request. What `HttpNetwork`
 * adds on top of this is the cost of its own layers (transport wrapper, codec); what this saves against
 * {@link createBareAxios} is axios's own per-request work.
 */
export async function createLeanAxios(baseUrl: string, agent: Agent): Promise<BareAxios> {
  const instance = new Axios({
    adapter: 'http',
    httpAgent: agent,
    proxy: false,
    maxRedirects: 0,
    maxContentLength: 64 * 1024,
    responseType: 'arraybuffer',
  });
  return {
    request: (config) => instance.request({ ...config, url: baseUrl + config.url }),
  };
}
