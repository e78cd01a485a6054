import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { StoredCertificates } from '../certificates/rotation.ts';
import { caBundleOperations, type CaBundlePublisher, type CertificateStore, type WebhookList } from './self-managed-tls.ts';

// The Kubernetes side of self-managed TLS: the shared Secret and the webhook configurations' caBundle.
// Loaded only when tls.selfManaged is on, like every module that imports @kubernetes/client-node.

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
