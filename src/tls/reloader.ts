import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { servingTlsOptions, type ServingTlsOptions, type TlsMaterial } from './options.ts';

export type { TlsMaterial } from './options.ts';

/** What a TLS server needs for a hot reload: Http2SecureServer and https.Server both have it. */
export interface SecureContextTarget {
  setSecureContext(options: ServingTlsOptions): void;
}

/** The files a reload reads, and the name every installed certificate must cover. */
export interface ReloadSource {
  readonly certFile: string;
  readonly keyFile: string;
  /** Empty: no client authentication. */
  readonly clientCAFile: string;
  /** The host the API server dials (servingNames().commonName): a certificate for another name would fail every call. */
  readonly servingHost: string;
}

export interface ReloadEvents {
  readonly onReloaded: (notAfter: Date) => void;
  /** The new files are unusable (half-written, wrong key, expired, not yet valid, other names): the old certificate stays. Once per distinct content. */
  readonly onRejected: (reason: string) => void;
}

export interface TlsReloader {
  /** Checks the files once; true when a new certificate was installed. The interval calls it too. */
  readonly checkNow: () => boolean;
  readonly stop: () => void;
}

export interface TlsReloaderOptions {
  readonly source: ReloadSource;
  /** What the listener was created with: unchanged files are not installed again. */
  readonly initial: TlsMaterial;
  readonly target: SecureContextTarget;
  readonly intervalSeconds: number;
  readonly events: ReloadEvents;
  /** Defaults to the clock; tests pass a fixed time. */
  readonly now?: () => Date;
}

/**
 * Watches the certificate, key and client CA files (a mounted Secret swaps them atomically through a
 * symlink) and installs a changed, valid set with setSecureContext: new handshakes use it, open
 * connections and in-flight reviews are untouched.
 */
export function startTlsReloader(options: TlsReloaderOptions): TlsReloader {
  const { source, target, events } = options;
  const now = options.now ?? ((): Date => new Date());
  let currentDigest = digest(options.initial);
  // Remembered so that a bad pair left in place is reported once, not at every interval.
  let rejectedDigest: string | undefined;
  const checkNow = (): boolean => {
    const next = readMaterial(source);
    if (next === undefined) return false;
    const nextDigest = digest(next);
    if (nextDigest === currentDigest || nextDigest === rejectedDigest) return false;
    const problem = materialProblem(next, source.servingHost, now());
    if (problem !== undefined) {
      rejectedDigest = nextDigest;
      events.onRejected(problem);
      return false;
    }
    target.setSecureContext(servingTlsOptions(next));
    currentDigest = nextDigest;
    events.onReloaded(certificateNotAfter(next.cert));
    return true;
  };
  const timer = setInterval(checkNow, options.intervalSeconds * 1000);
  timer.unref();
  return { checkNow, stop: () => clearInterval(timer) };
}

export function certificateNotAfter(cert: Buffer): Date {
  return new Date(new X509Certificate(cert).validTo);
}

/** The client CA to verify callers with, or undefined when client authentication is off. */
export function readClientCa(clientCAFile: string): Buffer | undefined {
  return clientCAFile === '' ? undefined : readFileSync(clientCAFile);
}

/** Why this material must not be served, or undefined when it may. */
export function materialProblem(material: TlsMaterial, servingHost: string, now: Date): string | undefined {
  try {
    createSecureContext(servingTlsOptions(material));
    const certificate = new X509Certificate(material.cert);
    return validityProblem(certificate, now) ?? nameProblem(certificate, servingHost);
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
}

function validityProblem(certificate: X509Certificate, now: Date): string | undefined {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now.getTime() < notBefore.getTime()) return `the certificate is not valid before ${notBefore.toISOString()}`;
  if (now.getTime() >= notAfter.getTime()) return `the certificate expired on ${notAfter.toISOString()}`;
  return undefined;
}

function nameProblem(certificate: X509Certificate, servingHost: string): string | undefined {
  const covered =
    isIP(servingHost) === 0
      ? certificate.checkHost(servingHost, { subject: 'never' })
      : certificate.checkIP(servingHost);
  return covered === undefined
    ? `the certificate does not cover ${servingHost} (it has ${certificate.subjectAltName ?? 'no subject alternative names'})`
    : undefined;
}

function readMaterial(source: ReloadSource): TlsMaterial | undefined {
  try {
    const clientCa = readClientCa(source.clientCAFile);
    const pair = { cert: readFileSync(source.certFile), key: readFileSync(source.keyFile) };
    return clientCa === undefined ? pair : { ...pair, clientCa };
  } catch {
    return undefined;
  }
}

function digest(material: TlsMaterial): string {
  return createHash('sha256')
    .update(material.cert)
    .update('\0')
    .update(material.key)
    .update('\0')
    .update(material.clientCa ?? '')
    .digest('hex');
}
