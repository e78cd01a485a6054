import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** What a TLS server needs for a hot reload: Http2SecureServer and https.Server both have it. */
export interface SecureContextTarget {
  setSecureContext(options: { cert: Buffer; key: Buffer; minVersion?: 'TLSv1.2' | 'TLSv1.3' }): void;
}

export interface ReloadEvents {
  readonly onReloaded: (notAfter: Date) => void;
  /** The new files are unusable (half-written pair, wrong key): the old certificate stays in use. */
  readonly onRejected: (reason: string) => void;
}

export interface TlsReloader {
  readonly current: () => TlsMaterial;
  /** Checks the files once; true when a new certificate was installed. */
  readonly checkNow: () => boolean;
  readonly stop: () => void;
}

/**
 * Watches the certificate and key files (a mounted Secret swaps them atomically through a symlink)
 * and installs a changed, valid pair with setSecureContext: new handshakes use it, open
 * connections and in-flight reviews are untouched.
 */
export function startTlsReloader(
  files: { readonly certFile: string; readonly keyFile: string },
  initial: TlsMaterial,
  target: SecureContextTarget,
  intervalSeconds: number,
  events: ReloadEvents,
): TlsReloader {
  let current = initial;
  let currentDigest = digest(initial);
  const checkNow = (): boolean => {
    const next = readMaterial(files);
    if (next === undefined) return false;
    const nextDigest = digest(next);
    if (nextDigest === currentDigest) return false;
    const problem = pairProblem(next);
    if (problem !== undefined) {
      events.onRejected(problem);
      return false;
    }
    target.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    current = next;
    currentDigest = nextDigest;
    events.onReloaded(certificateNotAfter(next.cert));
    return true;
  };
  const timer = setInterval(checkNow, intervalSeconds * 1000);
  timer.unref();
  return { current: () => current, checkNow, stop: () => clearInterval(timer) };
}

export function certificateNotAfter(cert: Buffer): Date {
  return new Date(new X509Certificate(cert).validTo);
}

function readMaterial(files: { readonly certFile: string; readonly keyFile: string }): TlsMaterial | undefined {
  try {
    return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  } catch {
    return undefined;
  }
}

function pairProblem(material: TlsMaterial): string | undefined {
  try {
    createSecureContext({ cert: material.cert, key: material.key });
    return undefined;
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
}

function digest(material: TlsMaterial): string {
  return createHash('sha256').update(material.cert).update('\0').update(material.key).digest('hex');
}
