import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { ClientConfigError } from '@runner-core/core';

/** What the HTTPS agent needs from the TLS options: trusted CAs and an optional client certificate. */
export interface TlsMaterial {
  /** Node's root certificates plus the configured CA file; `undefined` keeps Node's defaults. */
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
export function loadTlsMaterial(files: {
  readonly tlsCaFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
}): TlsMaterial {
  let ca: string[] | undefined;
  if (files.tlsCaFile !== undefined) {
    const pem = readPem('tlsCaFile', files.tlsCaFile);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ClientConfigError(
        `tlsCaFile "${files.tlsCaFile}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    }
    try {
      createSecureContext({ ca: pem });
    } catch (error) {
      throw new ClientConfigError(`tlsCaFile "${files.tlsCaFile}" is not a usable CA certificate: ${reason(error)}`);
    }
    // NOTE: Node's `ca` option replaces its root store; appending keeps the public roots trusted, like Go's
    // "system pool + CA file".
    ca = [...rootCertificates, pem];
  }
  if (files.tlsCertFile === undefined || files.tlsKeyFile === undefined) return ca === undefined ? {} : { ca };
  const cert = readPem('tlsCertFile', files.tlsCertFile);
  const key = readPem('tlsKeyFile', files.tlsKeyFile);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ClientConfigError(
      `tlsCertFile "${files.tlsCertFile}" and tlsKeyFile "${files.tlsKeyFile}" are not a usable key pair: ${reason(error)}`,
    );
  }
  return { ...(ca === undefined ? {} : { ca }), cert, key };
}

function readPem(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ClientConfigError(`${option} "${path}" cannot be read: ${reason(error)}`);
  }
}

function reason(error: unknown): string {
  // NOTE: the message of a key parsing error never contains key material, only OpenSSL's reason.
  return error instanceof Error ? error.message : String(error);
}
