import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { applyRotation, caBundleOf, planRotation, type RotationPolicy, type StoredCertificates } from '../certificates/rotation.ts';

/** The Secret that all replicas share; `resourceVersion` makes concurrent writers take turns. */
export interface CertificateStore {
  read(): Promise<{ readonly certificates: StoredCertificates | undefined; readonly resourceVersion: string | undefined } | undefined>;
  /** false when another replica created it first. */
  create(certificates: StoredCertificates): Promise<boolean>;
  /** false when another replica changed it since `resourceVersion`. */
  replace(certificates: StoredCertificates, resourceVersion: string): Promise<boolean>;
}

/** Where the webhook configurations' caBundle is kept in step. */
export interface CaBundlePublisher {
  /** Sets caBundle on every webhook of both configurations; returns how many were changed. */
  publish(caBundlePem: string): Promise<number>;
}

const MAX_ATTEMPTS = 5;

/**
 * Returns certificates every replica agrees on: the stored ones when still good, otherwise renewed
 * ones written with optimistic concurrency (a replica that loses the race takes the winner's).
 */
export async function acquireCertificates(store: CertificateStore, policy: RotationPolicy, now: () => Date, log: Logger): Promise<StoredCertificates> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const current = await store.read();
    const plan = planRotation(current?.certificates, policy, now());
    if (plan.action === 'keep' && current?.certificates !== undefined) return current.certificates;
    const renewed = applyRotation(current?.certificates, plan, policy, now());
    const written = current === undefined ? await store.create(renewed) : await store.replace(renewed, current.resourceVersion ?? '');
    if (written) {
      log.info({ action: plan.action, reason: plan.reason }, 'self-managed certificates written');
      return renewed;
    }
    log.info({ attempt }, 'another replica updated the certificate Secret first; reading it again');
  }
  throw new Error(`could not agree on certificates after ${MAX_ATTEMPTS} attempts`);
}

export { caBundleOf };

// ---------------------------------------------------------------- Kubernetes adapters (I/O)

const KEYS = { caCert: 'ca.crt', caKey: 'ca.key', previousCaCert: 'ca-previous.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export function kubeCertificateStore(kubeConfig: KubeConfig, namespace: string, name: string): CertificateStore {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    read: async () => {
      try {
        const secret = await api.readNamespacedSecret({ name, namespace });
        return { certificates: fromSecret(secret), resourceVersion: secret.metadata?.resourceVersion };
      } catch (error: unknown) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },
    create: async (certificates) => {
      try {
        await api.createNamespacedSecret({ namespace, body: toSecret(name, namespace, certificates) });
        return true;
      } catch (error: unknown) {
        if (statusOf(error) === 409) return false;
        throw error;
      }
    },
    replace: async (certificates, resourceVersion) => {
      try {
        const body = toSecret(name, namespace, certificates);
        await api.replaceNamespacedSecret({ name, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion } } });
        return true;
      } catch (error: unknown) {
        if (statusOf(error) === 409) return false;
        throw error;
      }
    },
  };
}

interface WebhookList {
  readonly webhooks?: readonly { readonly name: string; readonly clientConfig: { readonly caBundle?: string } }[];
}

export function kubeCaBundlePublisher(kubeConfig: KubeConfig, names: { readonly mutating: string; readonly validating: string }): CaBundlePublisher {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const targets = [
    ...(names.mutating === ''
      ? []
      : [{ read: () => api.readMutatingWebhookConfiguration({ name: names.mutating }), patch: (body: object[]) => api.patchMutatingWebhookConfiguration({ name: names.mutating, body }, jsonPatch) }]),
    ...(names.validating === ''
      ? []
      : [{ read: () => api.readValidatingWebhookConfiguration({ name: names.validating }), patch: (body: object[]) => api.patchValidatingWebhookConfiguration({ name: names.validating, body }, jsonPatch) }]),
  ];
  return {
    publish: async (caBundlePem) => {
      const caBundle = Buffer.from(caBundlePem).toString('base64');
      let changed = 0;
      for (const target of targets) {
        const operations = caBundleOperations((await target.read()) as WebhookList, caBundle);
        if (operations.length === 0) continue;
        await target.patch(operations);
        changed += operations.length / 2;
      }
      return changed;
    },
  };
}

/**
 * JSON Patch setting caBundle on every webhook that lacks it: each change is guarded by a `test` of the
 * webhook's name, so a configuration edited in between fails the patch instead of being corrupted.
 */
export function caBundleOperations(configuration: WebhookList, caBundle: string): object[] {
  return (configuration.webhooks ?? []).flatMap((webhook, index) =>
    webhook.clientConfig.caBundle === caBundle
      ? []
      : [
          { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
        ],
  );
}

function toSecret(name: string, namespace: string, certificates: StoredCertificates): V1Secret {
  const data: Record<string, string> = {
    [KEYS.caCert]: base64(certificates.ca.certPem),
    [KEYS.caKey]: base64(certificates.ca.keyPem),
    [KEYS.cert]: base64(certificates.serving.certPem),
    [KEYS.key]: base64(certificates.serving.keyPem),
  };
  if (certificates.previousCaCertPem !== undefined) data[KEYS.previousCaCert] = base64(certificates.previousCaCertPem);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'dapr-guard' } },
    data,
  };
}

function fromSecret(secret: V1Secret): StoredCertificates | undefined {
  const data = secret.data ?? {};
  const text = (key: string): string | undefined => (data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8'));
  const [caCert, caKey, cert, key] = [text(KEYS.caCert), text(KEYS.caKey), text(KEYS.cert), text(KEYS.key)];
  if (caCert === undefined || caKey === undefined || cert === undefined || key === undefined) return undefined;
  const previous = text(KEYS.previousCaCert);
  return { ca: { certPem: caCert, keyPem: caKey }, serving: { certPem: cert, keyPem: key }, ...(previous === undefined ? {} : { previousCaCertPem: previous }) };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}
