import { type Clock, systemClock } from '../clock/clock.port.js';
import type { Network } from '../network/network.port.js';
import type { ServerProfile, SimulatedGitLab } from '../simulation/simulated-gitlab.js';

/** What the contract suite runs against: an adapter, the fake GitLab it talks to, and the adapter's clock. */
export interface NetworkHarness {
  readonly network: Network;
  readonly gitlab: SimulatedGitLab;
  /** The clock the adapter reads (absolute wait hints are checked against it). @default systemClock */
  readonly clock: Clock;
  /** Frees what the harness holds (a server, sockets). */
  close?(): Promise<void> | void;
}

/** Builds one fresh harness per test, for the given server profile. */
export type HarnessFactory = (options: { readonly profile: ServerProfile }) => NetworkHarness | Promise<NetworkHarness>;

/**
 * A {@link NetworkHarness} from any network and any {@link SimulatedGitLab}: the clock defaults to the system clock.
 */
export function networkHarness(parts: {
  readonly network: Network;
  readonly gitlab: SimulatedGitLab;
  readonly clock?: Clock;
  readonly close?: () => Promise<void> | void;
}): NetworkHarness {
  const { network, gitlab, clock = systemClock, close } = parts;
  return close === undefined ? { network, gitlab, clock } : { network, gitlab, clock, close };
}
