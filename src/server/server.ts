import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { policyOf } from '../config/policy.ts';
import { clusterConfigured, describeMissingCredentials } from '../kube/cluster-access.ts';
import type { NamespaceModes } from '../kube/namespace-modes.ts';
import { buildApp, type App, type Readiness } from './app.ts';
import { trackConnections, type Connections } from './connections.ts';
import { createMetrics, createMetricsServer, type Metrics } from './metrics.ts';
import { fileServingTls, selfManagedServingTls, type ServingTls } from '../tls/serving.ts';
import type { SecureContextTarget } from '../tls/reloader.ts';
import { backoffDelayMs } from '../util/retry.ts';

export interface RunningServer {
  readonly app: App;
  readonly port: number;
  /** Undefined when metrics are disabled. */
  readonly metricsPort: number | undefined;
  readonly metrics: Metrics;
  readonly tls: ServingTls;
  /**
   * Graceful stop: /readyz turns 503, the listener keeps serving for the shutdown delay, then stops
   * accepting and waits for in-flight reviews up to the grace period.
   */
  readonly shutdown: () => Promise<void>;
}

export async function startServer(config: Config, logger: Logger, env: NodeJS.ProcessEnv): Promise<RunningServer> {
  const metrics = createMetrics({ defaultMetrics: true });
  let shuttingDown = false;
  let startupReason = 'starting';
  let current = (): Readiness => ({ ready: false, reason: startupReason });
  const readiness = (): Readiness => (shuttingDown ? { ready: false, reason: 'shutting down' } : current());
  // The metrics port (with /healthz and /readyz) listens first: self-managed TLS may wait for the cluster
  // before the HTTPS port has a certificate, and the kubelet must see a live, unready pod meanwhile.
  const metricsServer = config.metrics.enabled ? createMetricsServer(metrics, readiness) : undefined;
  if (metricsServer !== undefined)
    await once(metricsServer.listen(config.metrics.port, config.metrics.host), 'listening');
  const tls = await servingTls(config, logger, metrics, {
    env,
    waitingFor: (reason) => {
      startupReason = reason;
    },
  });
  const namespaceModes = startNamespaceModes(config, logger, metrics, env);
  current = () => {
    const waiting = namespaceModes?.waitingFor();
    return waiting === undefined ? tls.readiness() : { ready: false, reason: waiting };
  };
  const policy = policyOf(config, namespaceModes === undefined ? () => undefined : namespaceModes.modeOf);
  const app = buildApp({
    policy,
    logger,
    metrics,
    bodyLimitBytes: config.server.bodyLimitBytes,
    limits: config.server,
    readiness,
    tls: tls.initial,
  });
  const connections = trackConnections(app.server);
  await app.listen({ host: config.server.host, port: config.server.port });
  tls.start(app.server as unknown as SecureContextTarget);
  const port = (app.server.address() as AddressInfo).port;
  const metricsPort = metricsServer === undefined ? undefined : (metricsServer.address() as AddressInfo).port;
  logger.info(
    { port, metricsPort, mode: config.mode, rules: policy.rules.map((rule) => rule.id) },
    'dapr-guard is serving',
  );

  const shutdown = async (): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(
      { delaySeconds: config.server.shutdownDelaySeconds, graceSeconds: config.server.shutdownGracePeriodSeconds },
      'shutting down',
    );
    await delay(config.server.shutdownDelaySeconds * 1000);
    tls.stop();
    await Promise.all([
      closeWithin(app, connections, config.server.shutdownGracePeriodSeconds * 1000, logger),
      namespaceModes?.stop(),
      metricsServer === undefined ? undefined : new Promise<void>((resolve) => metricsServer.close(() => resolve())),
    ]);
    metricsServer?.closeAllConnections();
    logger.info('stopped');
  };
  return { app, port, metricsPort, metrics, tls, shutdown };
}

/** Namespace mode labels, and what they still wait for before the server is ready (undefined: nothing). */
interface WatchedNamespaceModes extends NamespaceModes {
  readonly waitingFor: () => string | undefined;
}

/** How often to look again for cluster credentials that were missing: 1 s, doubling to at most 60 s. */
const CREDENTIALS_BACKOFF = { initialMs: 1000, maxMs: 60_000 } as const;

/**
 * @kubernetes/client-node is loaded only by the dynamic imports of kube/ here and for self-managed TLS
 * (only kube/ may import it: eslint.config.js OWNED_PACKAGES), so a local run without a cluster never
 * loads it (a quarter of a second and ~90 MiB).
 * With source=kubernetes and no credentials, the server says once what is missing and how to provide it,
 * stays unready with that reason, and looks again with backoff without logging each attempt.
 */
function startNamespaceModes(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  env: NodeJS.ProcessEnv,
): WatchedNamespaceModes | undefined {
  metrics.namespaceModesSynced.set(0);
  const source = config.namespaceModes.source;
  if (source === 'off' || (source === 'auto' && !clusterConfigured(env))) {
    logger.info(
      { mode: config.mode, source },
      'namespace mode labels are not watched (no cluster access); the global mode applies in every namespace',
    );
    return undefined;
  }
  let watch: NamespaceModes | undefined;
  let waiting: string | undefined;
  let stopped = false;
  let attempts = 0;
  let timer: NodeJS.Timeout | undefined;
  const begin = (): void => {
    if (stopped) return;
    if (!clusterConfigured(env)) {
      if (waiting === undefined) {
        waiting = describeMissingCredentials(
          'namespaceModes.source=kubernetes',
          'set namespaceModes.source=off (--namespace-modes off)',
        );
        logger.error({ mode: config.mode, source }, `${waiting}; not ready until credentials appear`);
      }
      attempts += 1;
      timer = setTimeout(begin, backoffDelayMs(attempts, CREDENTIALS_BACKOFF));
      return;
    }
    if (waiting !== undefined) logger.info('cluster credentials found; watching namespace mode labels');
    waiting = undefined;
    watchWithClient(config, logger, metrics).then(
      (started) => {
        if (stopped) void started.stop();
        else watch = started;
      },
      (error: unknown) => logger.error({ err: error }, 'namespace mode labels cannot be watched'),
    );
  };
  begin();
  return {
    modeOf: (namespace) => watch?.modeOf(namespace),
    waitingFor: () => waiting,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await watch?.stop();
    },
  };
}

async function watchWithClient(config: Config, logger: Logger, metrics: Metrics): Promise<NamespaceModes> {
  logger.info({ mode: config.mode }, 'watching namespace mode labels; the global mode applies until they sync');
  const [{ watchNamespaceModes }, { loadKubeConfig }] = await Promise.all([
    import('../kube/namespace-modes.ts'),
    import('../kube/kube-config.ts'),
  ]);
  return watchNamespaceModes(loadKubeConfig(), logger, {
    onSyncChanged: (synced) => metrics.namespaceModesSynced.set(synced ? 1 : 0),
  });
}

/** Certificate files (local runs, mounted Secrets), or, in a cluster with tls.selfManaged, a shared Secret. */
async function servingTls(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  { env, waitingFor }: { readonly env: NodeJS.ProcessEnv; readonly waitingFor: (reason: string) => void },
): Promise<ServingTls> {
  const selfManaged = config.tls.selfManaged;
  if (!selfManaged.enabled) return fileServingTls(config.tls, logger, metrics);
  const namespace = selfManaged.secretNamespace !== '' ? selfManaged.secretNamespace : config.tls.serviceNamespace;
  if (namespace === '' || config.tls.serviceName === '') {
    throw new Error(
      'tls.selfManaged needs tls.serviceName and tls.serviceNamespace (or tls.selfManaged.secretNamespace)',
    );
  }
  await untilClusterConfigured(env, logger, waitingFor);
  waitingFor(`waiting for the serving certificate in the Secret ${namespace}/${selfManaged.secretName}`);
  const [{ kubeCaBundlePublisher, kubeCertificateStore }, { loadKubeConfig }] = await Promise.all([
    import('../kube/self-managed-tls-client.ts'),
    import('../kube/kube-config.ts'),
  ]);
  const kubeConfig = loadKubeConfig();
  return selfManagedServingTls(config.tls, logger, metrics, {
    store: kubeCertificateStore(kubeConfig, namespace, selfManaged.secretName),
    publisher: kubeCaBundlePublisher(kubeConfig, {
      mutating: selfManaged.mutatingWebhookConfiguration,
      validating: selfManaged.validatingWebhookConfiguration,
    }),
    checkIntervalMs: selfManaged.checkIntervalSeconds * 1000,
  });
}

/**
 * Self-managed TLS without cluster credentials: says once what is missing, then looks again with backoff
 * without logging (the client's own error, "HTTP protocol is not allowed when skipTLSVerify…", says nothing
 * useful). The HTTPS port has no certificate to listen with until then, so the metrics port answers the
 * probes: /healthz 200, /readyz 503 with what is missing. A SIGTERM exits 0 (main.ts).
 */
async function untilClusterConfigured(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  waitingFor: (reason: string) => void,
): Promise<void> {
  for (let attempt = 1; !clusterConfigured(env); attempt += 1) {
    if (attempt === 1) {
      const missing = describeMissingCredentials(
        'tls.selfManaged',
        'serve certificate files instead (tls.selfManaged.enabled=false, --tls-self-managed false)',
      );
      logger.error(`${missing}; waiting for credentials`);
      waitingFor(missing);
    }
    await delay(backoffDelayMs(attempt, CREDENTIALS_BACKOFF));
  }
}

/** Stops accepting, lets in-flight reviews finish and ends idle connections; after `graceMs`, ends the rest. */
async function closeWithin(app: App, connections: Connections, graceMs: number, logger: Logger): Promise<void> {
  const timer = setTimeout(() => {
    logger.warn({ graceMs, connections: connections.open() }, 'grace period over; closing the remaining connections');
    connections.destroyAll();
  }, graceMs);
  try {
    const closed = app.close();
    connections.drain();
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
