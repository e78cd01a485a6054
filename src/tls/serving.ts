import type { Logger } from 'pino';
import { backoffDelayMs, describeError } from '../util/retry.ts';
import {
  describeFileSetting,
  describeSettingSources,
  existingCertificateFiles,
  readPair,
  servingNames,
  TlsFilesError,
  writeServingBundle,
} from './files.ts';
import { caBundleOf, type RotationPolicy } from './rotation.ts';
import { acquireCertificates, type CaBundlePublisher, type CertificateStore } from './acquire.ts';
import { servingTlsOptions } from './options.ts';
import {
  certificateNotAfter,
  readClientCa,
  startTlsReloader,
  type ReloadEvents,
  type ReloadSource,
  type SecureContextTarget,
  type TlsMaterial,
  type TlsReloader,
} from './reloader.ts';

/** The settings serving TLS reads: the configuration's tls section (config/config.ts). */
export interface TlsSettings {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Empty: no client authentication. */
  readonly clientCAFile: string;
  readonly generateIfMissing: boolean;
  readonly dnsNames: readonly string[];
  readonly serviceName: string;
  readonly serviceNamespace: string;
  readonly reloadIntervalSeconds: number;
  readonly selfManaged: { readonly validityDays: number; readonly renewBeforeDays: number };
}

/** The two metrics serving TLS keeps current (server/metrics.ts provides them). */
export interface TlsMetrics {
  readonly certificateReloads: { inc(labels: { readonly result: 'success' | 'rejected' }): void };
  /** notAfter of the certificate in use, in Unix seconds. */
  readonly certificateExpiry: { set(value: number): void };
}

/** Whether the certificate side lets the server report ready (for /readyz). */
export interface TlsReadiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/** Where the serving certificate comes from and how it is kept current. */
export interface ServingTls {
  readonly initial: TlsMaterial;
  /** Begins reloading or renewing into `target` (the listening server). */
  readonly start: (target: SecureContextTarget) => void;
  /**
   * Test seam: looks for a new certificate now; true when one was installed. Only tests call it; the
   * server relies on the interval started by `start`, which runs the same check.
   */
  readonly checkNow: () => Promise<boolean>;
  readonly readiness: () => TlsReadiness;
  readonly stop: () => void;
}

const LOCAL_CERTIFICATE_VALIDITY_DAYS = 365;

/** Certificate files on disk (generated on first local run, or a mounted Secret), hot-reloaded when they change. */
export function fileServingTls(settings: TlsSettings, logger: Logger, metrics: TlsMetrics): ServingTls {
  ensureCertificateFiles(settings, logger);
  const initial = withClientCa(readPair(settings), settings);
  recordExpiry(metrics, certificateNotAfter(initial.cert));
  let reloader: TlsReloader | undefined;
  return {
    initial,
    start: (target) => {
      reloader = startTlsReloader({
        source: reloadSource(settings),
        initial,
        target,
        intervalSeconds: settings.reloadIntervalSeconds,
        events: reloadEvents(logger, metrics),
      });
    },
    checkNow: () => Promise.resolve(reloader?.checkNow() ?? false),
    readiness: () => ({ ready: true }),
    stop: () => reloader?.stop(),
  };
}

function reloadEvents(logger: Logger, metrics: TlsMetrics): ReloadEvents {
  return {
    onReloaded: (notAfter) => {
      recordReload(metrics, notAfter);
      logger.info({ notAfter: notAfter.toISOString() }, 'serving certificate reloaded');
    },
    onRejected: (reason) => {
      metrics.certificateReloads.inc({ result: 'rejected' });
      logger.warn({ reason }, 'refused the new certificate files; still serving the previous certificate');
    },
  };
}

function reloadSource(settings: TlsSettings): ReloadSource {
  const { certFile, keyFile, clientCAFile } = settings;
  return { certFile, keyFile, clientCAFile, servingHost: servingNames(settings).commonName };
}

/** Adds the client CA, read again at every install so that a changed CA file takes effect with the next certificate. */
function withClientCa(pair: { readonly cert: Buffer; readonly key: Buffer }, settings: TlsSettings): TlsMaterial {
  const clientCa = readClientCa(settings.clientCAFile);
  return clientCa === undefined ? pair : { ...pair, clientCa };
}

/**
 * Generates only when none of the three files exists: a file the user put there is never replaced, so
 * a typo in one path stops startup naming the missing file instead of overwriting the other.
 */
function ensureCertificateFiles(settings: TlsSettings, logger: Logger): void {
  const existing = existingCertificateFiles(settings);
  const missing = (['certFile', 'keyFile'] as const).filter((setting) => !existing.includes(setting));
  if (missing.length === 0) return;
  const [only] = missing;
  if (missing.length === 1 && only !== undefined) throw missingOneProblem(settings, only);
  if (!settings.generateIfMissing) {
    throw new TlsFilesError(
      `no serving certificate: ${describeFileSetting('certFile', settings)} and ${describeFileSetting('keyFile', settings)} do not exist — ` +
        'provide them, or set tls.generateIfMissing=true (--tls-generate true / DAPR_GUARD_TLS_GENERATE=true) to generate a self-signed pair',
    );
  }
  if (existing.includes('caFile')) {
    throw new TlsFilesError(
      `${describeFileSetting('caFile', settings)} exists but the serving certificate and key do not; ` +
        'refusing to replace the CA — provide tls.crt and tls.key signed by it, or move the CA away to generate a new one',
    );
  }
  writeServingBundle({ ...settings, validityDays: LOCAL_CERTIFICATE_VALIDITY_DAYS });
  logger.info(
    { caFile: settings.caFile, certFile: settings.certFile, keyFile: settings.keyFile },
    'generated a self-signed CA and serving certificate',
  );
}

function missingOneProblem(settings: TlsSettings, missing: 'certFile' | 'keyFile'): TlsFilesError {
  const present = missing === 'certFile' ? 'keyFile' : 'certFile';
  return new TlsFilesError(
    `${describeFileSetting(missing, settings)} does not exist, but ${describeFileSetting(present, settings)} does; ` +
      `nothing was generated, so that an existing file is not overwritten — set ${describeSettingSources(missing)} ` +
      `to the ${missing === 'keyFile' ? 'key' : 'certificate'} of that pair`,
  );
}

export interface SelfManagedDependencies {
  readonly store: CertificateStore;
  readonly publisher: CaBundlePublisher;
  readonly now?: () => Date;
  /** How often the Secret and the caBundle are checked again (renewal, other replicas, drift). */
  readonly checkIntervalMs: number;
}
const RETRY_BACKOFF = { initialMs: 500, maxMs: 30_000 };

/**
 * The chart's tls.mode=selfManaged: certificates in a Secret shared by all replicas, renewed before they
 * expire, with the CA published into both webhook configurations before this replica reports ready.
 */
export async function selfManagedServingTls(
  settings: TlsSettings,
  logger: Logger,
  metrics: TlsMetrics,
  dependencies: SelfManagedDependencies,
): Promise<ServingTls> {
  const now = dependencies.now ?? ((): Date => new Date());
  const policy = rotationPolicy(settings);
  const log = logger.child({ component: 'self-managed-tls' });
  let certificates = await retryForever(
    () => acquireCertificates(dependencies.store, policy, now, log),
    log,
    'reading or writing the certificate Secret',
  );
  let published: string | undefined;
  let target: SecureContextTarget | undefined;
  let timer: NodeJS.Timeout | undefined;
  recordExpiry(metrics, certificateNotAfter(Buffer.from(certificates.serving.certPem)));

  const publish = async (): Promise<void> => {
    const bundle = caBundleOf(certificates);
    const changed = await dependencies.publisher.publish(bundle);
    if (changed > 0) log.info({ webhooks: changed }, 'published the CA bundle into the webhook configurations');
    published = bundle;
  };
  const checkNow = async (): Promise<boolean> => {
    const next = await acquireCertificates(dependencies.store, policy, now, log);
    const changed = next.serving.certPem !== certificates.serving.certPem;
    certificates = next;
    await publish();
    if (changed && target !== undefined) {
      const cert = Buffer.from(next.serving.certPem);
      target.setSecureContext(
        servingTlsOptions(withClientCa({ cert, key: Buffer.from(next.serving.keyPem) }, settings)),
      );
      const notAfter = certificateNotAfter(cert);
      recordReload(metrics, notAfter);
      log.info({ notAfter: notAfter.toISOString() }, 'serving certificate renewed');
    }
    return changed;
  };
  let checking = false;
  const tick = (): void => {
    // A slow API server must not stack up checks that then race each other for the Secret.
    if (checking) return;
    checking = true;
    checkNow()
      .catch((error: unknown) => log.warn({ err: describeError(error) }, 'certificate check failed; will retry'))
      .finally(() => (checking = false));
  };
  return {
    initial: withClientCa(
      { cert: Buffer.from(certificates.serving.certPem), key: Buffer.from(certificates.serving.keyPem) },
      settings,
    ),
    start: (server) => {
      target = server;
      void retryForever(publish, log, 'publishing the CA bundle');
      timer = setInterval(tick, dependencies.checkIntervalMs);
      timer.unref();
    },
    checkNow,
    readiness: () =>
      published === undefined
        ? { ready: false, reason: 'the CA bundle is not yet published into the webhook configurations' }
        : { ready: true },
    stop: () => clearInterval(timer),
  };
}

function recordExpiry(metrics: TlsMetrics, notAfter: Date): void {
  metrics.certificateExpiry.set(notAfter.getTime() / 1000);
}

/** A new serving certificate is in use, from the files or from the shared Secret. */
function recordReload(metrics: TlsMetrics, notAfter: Date): void {
  metrics.certificateReloads.inc({ result: 'success' });
  recordExpiry(metrics, notAfter);
}

function rotationPolicy(settings: TlsSettings): RotationPolicy {
  return {
    ...servingNames(settings),
    servingValidityDays: settings.selfManaged.validityDays,
    renewBeforeDays: settings.selfManaged.renewBeforeDays,
  };
}

async function retryForever<T>(action: () => Promise<T>, log: Logger, what: string): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await action();
    } catch (error: unknown) {
      const delayMs = backoffDelayMs(attempt, RETRY_BACKOFF);
      log.warn({ err: describeError(error), attempt, retryInMs: delayMs }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
