import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * The nock discipline of every adapter-http test file: no real network (loopback only where a test starts its own
 * server), and no interceptor or pending reply outlives its test.
 */
export function useNock(options: { readonly allowLoopback?: boolean } = {}): void {
  beforeAll(() => {
    nock.disableNetConnect();
    if (options.allowLoopback === true) nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
  });
  afterAll(() => {
    nock.enableNetConnect();
  });
}

/** Counts requests nock saw but no interceptor matched (each one would have gone out to the network). */
export function unmatchedRequests(): { readonly count: () => number; readonly stop: () => void } {
  let count = 0;
  const listener = (): void => {
    count++;
  };
  nock.emitter.on('no match', listener);
  return { count: () => count, stop: () => nock.emitter.removeListener('no match', listener) };
}

/** An Error shaped like Node's system errors, for `replyWithError` (nock 14 needs a real Error to reject). */
export function systemError(code: string, message = `${code.toLowerCase()} happened`): Error {
  return Object.assign(new Error(message), { code });
}
