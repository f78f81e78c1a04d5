import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { ClientConfigError } from '@runner-core/core';

/** What the HTTPS agent needs from the TLS options: trusted CAs and an optional client certificate. */
export interface TlsMaterial {
  /** The trusted roots (see `trustedRoots`) plus the configured CA file; `undefined` keeps Node's defaults. */
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
}

/**
 * Reads the configured PEM files once and checks that Node's TLS accepts them, so a bad file fails when the
 * network is built rather than on the first call.
 *
 * NOTE: gitlab-runner silently skips a missing CA file; an explicitly configured file that cannot be used is
 * reported here instead, because silently trusting less than configured only fails later and less clearly.
 *
 * @throws {ClientConfigError} naming the file, when it cannot be read or holds no usable certificate or key.
 */
export function loadTlsMaterial(
  files: {
    readonly tlsCaFile: string | undefined;
    readonly tlsCertFile: string | undefined;
    readonly tlsKeyFile: string | undefined;
  },
  env: Readonly<Record<string, string | undefined>> = process.env,
): TlsMaterial {
  let ca: string[] | undefined = systemStore() === undefined ? undefined : trustedRoots(env);
  if (files.tlsCaFile !== undefined) {
    const pem = readPem('tlsCaFile', files.tlsCaFile);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ClientConfigError(
        `tlsCaFile "${files.tlsCaFile}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    }
    try {
      tls.createSecureContext({ ca: pem });
    } catch (error) {
      throw new ClientConfigError(`tlsCaFile "${files.tlsCaFile}" is not a usable CA certificate: ${reason(error)}`);
    }
    // NOTE: Node's `ca` option replaces its root store; appending keeps the public roots trusted, like Go's
    // "system pool + CA file".
    ca = [...trustedRoots(env), pem];
  }
  if (files.tlsCertFile === undefined || files.tlsKeyFile === undefined) return ca === undefined ? {} : { ca };
  const cert = readPem('tlsCertFile', files.tlsCertFile);
  const key = readPem('tlsKeyFile', files.tlsKeyFile);
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new ClientConfigError(
      `tlsCertFile "${files.tlsCertFile}" and tlsKeyFile "${files.tlsKeyFile}" are not a usable key pair: ${reason(error)}`,
    );
  }
  return { ...(ca === undefined ? {} : { ca }), cert, key };
}

type CaKind = 'default' | 'system';
type CaCertificates = (kind: CaKind) => string[];

/** The operating system's certificate store, where this Node offers it (`tls.getCACertificates`, Node ≥ 22.15). */
function systemStore(): CaCertificates | undefined {
  const get = (tls as { readonly getCACertificates?: CaCertificates }).getCACertificates;
  return typeof get === 'function' ? get : undefined;
}

/**
 * What a CA file is added to, as gitlab-runner adds it to Go's system pool: Node's roots, the certificates of
 * `NODE_EXTRA_CA_CERTS` (Node trusts them by default; a `ca` option would drop them) and, where Node offers it, the
 * operating system's store.
 * @throws {ClientConfigError} when `NODE_EXTRA_CA_CERTS` names a file that cannot be read
 */
function trustedRoots(env: Readonly<Record<string, string | undefined>>): string[] {
  // NOTE: read from `env` (the one this network was given), not only from what Node read at start-up.
  const extra = env.NODE_EXTRA_CA_CERTS;
  const extras = extra === undefined || extra === '' ? [] : [readPem('NODE_EXTRA_CA_CERTS', extra)];
  const get = systemStore();
  if (get === undefined) return [...tls.rootCertificates, ...extras];
  let system: string[] = [];
  try {
    system = get('system');
  } catch {
    // A platform without a readable store: Node's roots still apply.
  }
  return [...new Set([...get('default'), ...system, ...extras])];
}

function readPem(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ClientConfigError(
      `${option} "${path}" cannot be read${code === undefined ? `: ${reason(error)}` : ` (${code})`}`,
    );
  }
}

function reason(error: unknown): string {
  // NOTE: the message of a key parsing error never contains key material, only OpenSSL's reason.
  return error instanceof Error ? error.message : String(error);
}
