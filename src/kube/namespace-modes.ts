import { CoreV1Api, makeInformer, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isMode, MODES, NAMESPACE_MODE_LABEL, type Mode } from '../admission/mode.ts';
import { backoffDelayMs, describeError } from '../util/retry.ts';

export interface NamespaceModes {
  /** The mode label of a namespace; undefined when unlabelled, invalid or not known yet. */
  readonly modeOf: (namespace: string) => Mode | undefined;
  readonly stop: () => Promise<void>;
}

export interface NamespaceModeEvents {
  readonly onSyncChanged: (synced: boolean) => void;
}

/** 1 s after the first failure, doubling to at most 60 s. */
const RETRY_BACKOFF = { initialMs: 1000, maxMs: 60_000 } as const;

/**
 * A watch-based cache of the `dapr-guard.io/mode` namespace labels (namespace labels are not in
 * the AdmissionReview). Until the first list succeeds the global mode applies everywhere. When the
 * watch breaks, the last known labels stay in use while it reconnects with backoff.
 */
export function watchNamespaceModes(kubeConfig: KubeConfig, log: Logger, events: NamespaceModeEvents): NamespaceModes {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Namespace>(kubeConfig, '/api/v1/namespaces', () => api.listNamespace());
  const modes = new Map<string, Mode>();
  let synced = false;
  let stopped = false;
  let failures = 0;
  let lastFailure: string | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const remember = (namespace: V1Namespace): void => {
    const name = namespace.metadata?.name;
    if (name === undefined) return;
    const label = namespace.metadata?.labels?.[NAMESPACE_MODE_LABEL];
    if (isMode(label)) modes.set(name, label);
    else modes.delete(name);
    if (label !== undefined && !isMode(label)) {
      log.warn(
        { namespace: name, label: NAMESPACE_MODE_LABEL },
        `namespace mode label is not one of ${MODES.join(', ')}; the global mode applies`,
      );
    }
  };
  const setSynced = (value: boolean): void => {
    if (synced === value) return;
    synced = value;
    events.onSyncChanged(value);
  };
  const start = (): void => {
    let failedDuringStart = false;
    const onStartError = (): void => {
      failedDuringStart = true;
    };
    informer.on('error', onStartError);
    informer.start().then(
      () => {
        informer.off('error', onStartError);
        if (failedDuringStart || stopped) return;
        failures = 0;
        lastFailure = undefined;
        setSynced(true);
        log.info({ namespaces: modes.size }, 'namespace mode labels synced');
      },
      () => informer.off('error', onStartError),
    );
  };

  informer.on('add', remember);
  informer.on('update', remember);
  informer.on('delete', (namespace) => modes.delete(namespace.metadata?.name ?? ''));
  informer.on('error', (error: unknown) => {
    if (stopped) return;
    failures += 1;
    const delay = backoffDelayMs(failures, RETRY_BACKOFF);
    const err = describeError(error);
    // The same failure again is logged at debug: a watch that cannot connect retries quietly.
    const repeated = err.message === lastFailure;
    lastFailure = err.message;
    log[repeated ? 'debug' : 'warn'](
      { err, retryInMs: delay, keptNamespaces: modes.size },
      synced
        ? 'namespace watch failed; keeping the last known mode labels'
        : 'namespace watch failed; using the global mode until it syncs',
    );
    setSynced(false);
    retryTimer = setTimeout(start, delay);
    retryTimer.unref();
  });
  start();

  return {
    modeOf: (namespace) => modes.get(namespace),
    stop: async () => {
      stopped = true;
      clearTimeout(retryTimer);
      await informer.stop();
    },
  };
}
