import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { StoredCertificates } from '../tls/rotation.ts';
import { caBundleOperations, type CaBundlePublisher, type CertificateStore } from '../tls/acquire.ts';

// The Kubernetes side of self-managed TLS (tls/acquire.ts defines the ports): the shared Secret and
// the webhook configurations' caBundle. server.ts imports this module with import() only when
// tls.selfManaged is on, so a run without it does not load the client for TLS.

const TLS_SECRET_TYPE = 'kubernetes.io/tls';
const KEYS = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  previousCaCert: 'ca-previous.crt',
  cert: 'tls.crt',
  key: 'tls.key',
} as const;

/**
 * The chart pre-creates the Secret (empty), so the server needs only get and update on it by name:
 * `create secrets` cannot be limited by name and would let it mint ServiceAccount-token Secrets.
 * create() is still tried for runs outside the chart, and a refusal names what is missing.
 */
export function kubeCertificateStore(kubeConfig: KubeConfig, namespace: string, name: string): CertificateStore {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const secret = `Secret ${namespace}/${name}`;
  // An update keeps what it does not own: the type (immutable; Opaque from the chart) and Helm's labels
  // and annotations (without them the next helm upgrade would refuse the Secret).
  let existing: V1Secret | undefined;
  return {
    read: async () => {
      try {
        const found = await api.readNamespacedSecret({ name, namespace });
        existing = found;
        return { certificates: fromSecret(found), resourceVersion: found.metadata?.resourceVersion };
      } catch (error: unknown) {
        if (statusOf(error) === 404) return undefined;
        throw permissionError(error, `dapr-guard may not read ${secret} (RBAC: get secrets, resourceNames [${name}])`);
      }
    },
    create: (certificates) =>
      writeUnlessConflict(
        () => api.createNamespacedSecret({ namespace, body: toSecret(name, namespace, certificates, TLS_SECRET_TYPE) }),
        `${secret} does not exist and dapr-guard may not create it (RBAC: create secrets); the Helm chart creates it empty, or create it with \`kubectl create secret generic ${name} -n ${namespace}\` and grant get and update on it`,
      ),
    replace: (certificates, resourceVersion) =>
      writeUnlessConflict(() => {
        const body = updatedSecret(
          existing ?? toSecret(name, namespace, certificates, TLS_SECRET_TYPE),
          certificates,
          resourceVersion,
        );
        return api.replaceNamespacedSecret({ name, namespace, body });
      }, `dapr-guard may not update ${secret} (RBAC: update secrets, resourceNames [${name}])`),
  };
}

export function kubeCaBundlePublisher(
  kubeConfig: KubeConfig,
  names: { readonly mutating: string; readonly validating: string },
): CaBundlePublisher {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const targets = [
    ...(names.mutating === ''
      ? []
      : [
          {
            read: () => api.readMutatingWebhookConfiguration({ name: names.mutating }),
            patch: (body: object[]) => api.patchMutatingWebhookConfiguration({ name: names.mutating, body }, jsonPatch),
          },
        ]),
    ...(names.validating === ''
      ? []
      : [
          {
            read: () => api.readValidatingWebhookConfiguration({ name: names.validating }),
            patch: (body: object[]) =>
              api.patchValidatingWebhookConfiguration({ name: names.validating, body }, jsonPatch),
          },
        ]),
  ];
  return {
    publish: async (caBundlePem) => {
      const caBundle = Buffer.from(caBundlePem).toString('base64');
      let changed = 0;
      for (const target of targets) {
        const operations = caBundleOperations(await target.read(), caBundle);
        if (operations.length === 0) continue;
        await target.patch(operations);
        changed += operations.length / 2;
      }
      return changed;
    },
  };
}

function toSecret(name: string, namespace: string, certificates: StoredCertificates, type: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type,
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'dapr-guard' } },
    data: secretData(certificates),
  };
}

function updatedSecret(existing: V1Secret, certificates: StoredCertificates, resourceVersion: string): V1Secret {
  return { ...existing, metadata: { ...existing.metadata, resourceVersion }, data: secretData(certificates) };
}

function secretData(certificates: StoredCertificates): Record<string, string> {
  const data: Record<string, string> = {
    [KEYS.caCert]: base64(certificates.ca.certPem),
    [KEYS.caKey]: base64(certificates.ca.keyPem),
    [KEYS.cert]: base64(certificates.serving.certPem),
    [KEYS.key]: base64(certificates.serving.keyPem),
  };
  if (certificates.previousCaCertPem !== undefined) data[KEYS.previousCaCert] = base64(certificates.previousCaCertPem);
  return data;
}

function fromSecret(secret: V1Secret): StoredCertificates | undefined {
  const data = secret.data ?? {};
  const text = (key: string): string | undefined =>
    data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
  const [caCert, caKey, cert, key] = [text(KEYS.caCert), text(KEYS.caKey), text(KEYS.cert), text(KEYS.key)];
  if (caCert === undefined || caKey === undefined || cert === undefined || key === undefined) return undefined;
  const previous = text(KEYS.previousCaCert);
  return {
    ca: { certPem: caCert, keyPem: caKey },
    serving: { certPem: cert, keyPem: key },
    ...(previous === undefined ? {} : { previousCaCertPem: previous }),
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * A write under optimistic concurrency: true when done, false on 409 (another replica wrote first), and
 * a 403 becomes an error naming what is missing (`refusal`).
 */
async function writeUnlessConflict(write: () => Promise<unknown>, refusal: string): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error: unknown) {
    if (statusOf(error) === 409) return false;
    throw permissionError(error, refusal);
  }
}

/** A 403 becomes an error that says which permission is missing; anything else is passed on. */
function permissionError(error: unknown, message: string): unknown {
  return statusOf(error) === 403 ? new Error(message) : error;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}
