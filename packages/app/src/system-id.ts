import { createHmac, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Where the machine's identity comes from; injected so tests can pin it. */
export interface MachineIdentity {
  /** The contents of `/etc/machine-id` (or similar), if readable. */
  machineId(): string | undefined;
  hostname(): string;
}

const thisMachine: MachineIdentity = {
  machineId: () => {
    for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      try {
        const id = readFileSync(path, 'utf8').trim();
        if (id.length > 0) return id;
      } catch {
        // NOTE: not every system has a machine id (containers, macOS); the host name is the fallback.
      }
    }
    return undefined;
  },
  hostname: () => hostname(),
};

/**
 * The runner-manager id sent as `system_id`, stable for one machine: `s_` + 12 hex of an HMAC of the machine id
 * (or the host name), as gitlab-runner derives it; `r_` + 12 random alphanumerics when the machine has no name.
 * The raw machine id is never sent.
 */
export function deriveSystemId(machine: MachineIdentity = thisMachine): string {
  const seed = machine.machineId() ?? machine.hostname();
  if (seed.length === 0) return randomSystemId();
  return `s_${createHmac('sha256', 'runner-core system_id').update(seed).digest('hex').slice(0, 12)}`;
}

/** `r_` + 12 random alphanumerics. */
export function randomSystemId(): string {
  let id = 'r_';
  for (let i = 0; i < 12; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}
