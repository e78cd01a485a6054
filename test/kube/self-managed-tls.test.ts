import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { StoredCertificates } from '../../src/certificates/rotation.ts';
import { buildConfig } from '../../src/config/config.ts';
import { acquireCertificates, caBundleOperations, type CaBundlePublisher, type CertificateStore } from '../../src/kube/self-managed-tls.ts';
import { kubeCertificateStore } from '../../src/kube/self-managed-tls-client.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { selfManagedServingTls } from '../../src/server/serving-tls.ts';
import { startFakeSecretApi } from './fake-secret-api.ts';

const DAY = 24 * 60 * 60 * 1000;
const silent = pino({ level: 'silent' });
const config = buildConfig(
  [{ tls: { serviceName: 'dapr-guard', serviceNamespace: 'guard', selfManaged: { enabled: true, validityDays: 90, renewBeforeDays: 30 } } }],
  RULE_IDS,
);

/** An in-memory Secret with the API server's optimistic concurrency. */
function memoryStore(): CertificateStore & { writes: number; value: () => StoredCertificates | undefined } {
  let stored: StoredCertificates | undefined;
  let version = 0;
  let writes = 0;
  return {
    read: async () => (stored === undefined ? undefined : { certificates: stored, resourceVersion: String(version) }),
    create: async (certificates) => {
      if (stored !== undefined) return false;
      stored = certificates;
      version += 1;
      writes += 1;
      return true;
    },
    replace: async (certificates, resourceVersion) => {
      if (resourceVersion !== String(version)) return false;
      stored = certificates;
      version += 1;
      writes += 1;
      return true;
    },
    get writes() {
      return writes;
    },
    value: () => stored,
  };
}

function recordingPublisher(): CaBundlePublisher & { bundles: string[] } {
  const bundles: string[] = [];
  return { bundles, publish: async (bundle) => (bundles.push(bundle), 1) };
}

const noServer = { setSecureContext: (): void => undefined };

describe('self-managed TLS', () => {
  test('replicas share one Secret: the first creates it, the others read it', async () => {
    const store = memoryStore();
    const replicas = await Promise.all(
      [1, 2, 3].map(() => selfManagedServingTls(config, silent, createMetrics({ defaultMetrics: false }), { store, publisher: recordingPublisher(), checkIntervalMs: 60_000 })),
    );
    assert.equal(store.writes, 1);
    const serials = new Set(replicas.map((replica) => new X509Certificate(replica.initial.cert).serialNumber));
    assert.equal(serials.size, 1);
    const serving = new X509Certificate(replicas[0]?.initial.cert ?? '');
    assert.match(serving.subjectAltName ?? '', /DNS:dapr-guard\.guard\.svc\.cluster\.local/);
  });

  test('not ready until the CA bundle is published into the webhook configurations', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const bundles: string[] = [];
    const publisher: CaBundlePublisher = { publish: async (bundle) => (await gate, bundles.push(bundle), 2) };
    const store = memoryStore();
    const tls = await selfManagedServingTls(config, silent, createMetrics({ defaultMetrics: false }), { store, publisher, checkIntervalMs: 60_000 });
    tls.start(noServer);
    assert.deepEqual(tls.readiness(), { ready: false, reason: 'the CA bundle is not yet published into the webhook configurations' });
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(tls.readiness(), { ready: true });
    assert.deepEqual(bundles, [store.value()?.ca.certPem]);
    tls.stop();
  });

  test('a certificate inside the renewal window is renewed and installed without a restart', async () => {
    let now = new Date('2026-11-27T00:00:00Z');
    const store = memoryStore();
    const installed: Buffer[] = [];
    const tls = await selfManagedServingTls(config, silent, createMetrics({ defaultMetrics: false }), { store, publisher: recordingPublisher(), now: () => now, checkIntervalMs: 60_000 });
    tls.start({ setSecureContext: (options) => void installed.push(options.cert) });
    assert.equal(await tls.checkNow(), false);
    now = new Date(now.getTime() + 70 * DAY);
    assert.equal(await tls.checkNow(), true);
    assert.equal(installed.length, 1);
    assert.equal(installed[0]?.toString(), store.value()?.serving.certPem);
    assert.equal(store.writes, 2);
    tls.stop();
  });

  test('a renewal written by another replica is picked up', async () => {
    const store = memoryStore();
    const metrics = createMetrics({ defaultMetrics: false });
    const first = await selfManagedServingTls(config, silent, metrics, { store, publisher: recordingPublisher(), checkIntervalMs: 60_000 });
    const installed: string[] = [];
    first.start({ setSecureContext: (options) => void installed.push(options.cert.toString()) });
    const later = new Date(Date.now() + 70 * DAY);
    const second = await selfManagedServingTls(config, silent, metrics, { store, publisher: recordingPublisher(), now: () => later, checkIntervalMs: 60_000 });
    assert.notEqual(second.initial.cert.toString(), first.initial.cert.toString());
    assert.equal(await first.checkNow(), true);
    assert.deepEqual(installed, [second.initial.cert.toString()]);
    first.stop();
  });

  test('the caBundle patch sets every webhook that lacks it, each guarded by a test of its name', () => {
    const configuration = {
      webhooks: [
        { name: 'mutate.dapr-guard.io', clientConfig: {} },
        { name: 'validate.dapr-guard.io', clientConfig: { caBundle: 'QUJD' } },
        { name: 'dapr-resources.validate.dapr-guard.io', clientConfig: { caBundle: 'old' } },
      ],
    };
    assert.deepEqual(caBundleOperations(configuration, 'QUJD'), [
      { op: 'test', path: '/webhooks/0/name', value: 'mutate.dapr-guard.io' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'QUJD' },
      { op: 'test', path: '/webhooks/2/name', value: 'dapr-resources.validate.dapr-guard.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: 'QUJD' },
    ]);
    assert.deepEqual(caBundleOperations({ webhooks: [{ name: 'a', clientConfig: { caBundle: 'QUJD' } }] }, 'QUJD'), []);
  });
});

describe('self-managed TLS against the Secrets API, without create secrets', () => {
  const NAME = 'dapr-guard-server-tls';
  const CHART_SECRET = {
    metadata: { name: NAME, namespace: 'guard', labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'helm.sh/resource-policy': 'keep', 'meta.helm.sh/release-name': 'dapr-guard' } },
    type: 'Opaque',
  };
  const policy = { commonName: 'dapr-guard.guard.svc', dnsNames: ['dapr-guard.guard.svc'], ipAddresses: [], servingValidityDays: 90, renewBeforeDays: 30 };

  test('the empty Secret the chart made is filled by one update; its type, labels and annotations stay', async () => {
    const api = await startFakeSecretApi({ verbs: ['get', 'update'], secret: CHART_SECRET });
    try {
      const certificates = await acquireCertificates(kubeCertificateStore(api.kubeConfig, 'guard', NAME), policy, () => new Date(), silent);
      const path = `/api/v1/namespaces/guard/secrets/${NAME}`;
      assert.deepEqual(api.requests, [`GET ${path}`, `PUT ${path}`]);
      const stored = api.secret();
      assert.equal(stored?.type, 'Opaque');
      assert.deepEqual(stored?.metadata.annotations, CHART_SECRET.metadata.annotations);
      assert.deepEqual(stored?.metadata.labels, CHART_SECRET.metadata.labels);
      assert.equal(Buffer.from(stored?.data?.['tls.crt'] ?? '', 'base64').toString(), certificates.serving.certPem);
    } finally {
      await api.stop();
    }
  });

  test('two replicas filling it at once: one update wins, the other takes its certificates', async () => {
    const api = await startFakeSecretApi({ verbs: ['get', 'update'], secret: CHART_SECRET });
    try {
      const replicas = await Promise.all([1, 2].map(() => acquireCertificates(kubeCertificateStore(api.kubeConfig, 'guard', NAME), policy, () => new Date(), silent)));
      assert.equal(replicas.length, 2);
      assert.equal(replicas[0]?.serving.certPem, replicas[1]?.serving.certPem);
      assert.equal(api.secret()?.metadata.resourceVersion, '2');
    } finally {
      await api.stop();
    }
  });

  test('an absent Secret: an error naming the Secret and the missing permission', async () => {
    const api = await startFakeSecretApi({ verbs: ['get', 'update'] });
    try {
      await assert.rejects(acquireCertificates(kubeCertificateStore(api.kubeConfig, 'guard', NAME), policy, () => new Date(), silent), {
        message: `Secret guard/${NAME} does not exist and dapr-guard may not create it (RBAC: create secrets); the Helm chart creates it empty, or create it with \`kubectl create secret generic ${NAME} -n guard\` and grant get and update on it`,
      });
    } finally {
      await api.stop();
    }
  });
});
