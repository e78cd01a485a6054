import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { kubeCertificateStore } from '../../src/kube/self-managed-tls-client.ts';
import { acquireCertificates } from '../../src/tls/acquire.ts';
import { startFakeSecretApi } from './fake-secret-api.ts';

const silent = pino({ level: 'silent' });

describe('self-managed TLS against the Secrets API, without create secrets', () => {
  const NAME = 'dapr-guard-server-tls';
  const CHART_SECRET = {
    metadata: {
      name: NAME,
      namespace: 'guard',
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'helm.sh/resource-policy': 'keep', 'meta.helm.sh/release-name': 'dapr-guard' },
    },
    type: 'Opaque',
  };
  const policy = {
    commonName: 'dapr-guard.guard.svc',
    dnsNames: ['dapr-guard.guard.svc'],
    ipAddresses: [],
    servingValidityDays: 90,
    renewBeforeDays: 30,
  };

  test('the empty Secret the chart made is filled by one update; its type, labels and annotations stay', async () => {
    const api = await startFakeSecretApi({ verbs: ['get', 'update'], secret: CHART_SECRET });
    try {
      const certificates = await acquireCertificates(
        kubeCertificateStore(api.kubeConfig, 'guard', NAME),
        policy,
        () => new Date(),
        silent,
      );
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
      const replicas = await Promise.all(
        [1, 2].map(() =>
          acquireCertificates(kubeCertificateStore(api.kubeConfig, 'guard', NAME), policy, () => new Date(), silent),
        ),
      );
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
      await assert.rejects(
        acquireCertificates(kubeCertificateStore(api.kubeConfig, 'guard', NAME), policy, () => new Date(), silent),
        {
          message: `Secret guard/${NAME} does not exist and dapr-guard may not create it (RBAC: create secrets); the Helm chart creates it empty, or create it with \`kubectl create secret generic ${NAME} -n guard\` and grant get and update on it`,
        },
      );
    } finally {
      await api.stop();
    }
  });
});
