/**
 * Scenario 4, several replicas with self-managed TLS, on the project's control plane: three servers
 * started at once against the same API server agree on one Secret, one CA and one caBundle in both
 * webhook configurations, and all become ready serving the Secret's certificate. Then, under load on
 * two of them, the Secret's serving certificate is replaced by one that is due for renewal and the
 * third replica is killed: the two others renew (one wins, both serve the renewed certificate) and no
 * request to them fails.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { issueServingCertificate } from '../../src/tls/generate.ts';
import { runLoad } from '../../bench/load.ts';
import { freePort, spawnNode, type Spawned } from '../support/process.ts';
import { peerCertificateSerial } from '../support/tls.ts';
import { sharedCluster, startCluster, stopCluster, type ClusterInfo } from '../e2e/support/cluster.ts';
import { Kubectl, toManifest } from '../e2e/support/kubectl.ts';
import { namespaceObject, randomSuffix } from '../e2e/support/objects.ts';
import { SETUP_TIMEOUT_MS } from '../e2e/support/scenario.ts';
import { LONG, POD_REVIEW, answersReview, eventually } from './support/guard.ts';

const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;
const REPLICAS = 3;
const SECRET = 'dapr-guard-reliability-tls';
const LOAD_SECONDS = LONG ? 40 : 20;
const suffix = randomSuffix();
const NAMESPACE = `reliability-replicas-${suffix}`;
const CONFIGURATION = `dapr-guard-reliability-${suffix}`;

interface StoredSecret {
  readonly metadata: { readonly resourceVersion: string };
  readonly data: Record<string, string>;
}

/** Webhook configurations that the API server never calls (no namespace matches): only their caBundle matters here. */
function configurations(): KubeObject[] {
  const webhook = (name: string, path: string): Record<string, unknown> => ({
    name,
    clientConfig: { url: `https://127.0.0.1:1${path}` },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    namespaceSelector: { matchLabels: { 'reliability.dapr-guard.io/never': 'matched' } },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Ignore',
  });
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: CONFIGURATION },
      webhooks: [webhook('mutate.reliability.dapr-guard.io', '/mutate')],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: CONFIGURATION },
      webhooks: [webhook('validate.reliability.dapr-guard.io', '/validate')],
    },
  ];
}

function startReplica(cluster: ClusterInfo, port: number): Spawned {
  return spawnNode(
    [
      MAIN,
      ...['--host', '127.0.0.1', '--port', String(port), '--metrics-enabled', 'false', '--namespace-modes', 'off'],
      ...['--tls-self-managed', 'true', '--tls-secret-name', SECRET, '--tls-secret-namespace', NAMESPACE],
      ...['--service-name', 'dapr-guard', '--service-namespace', NAMESPACE, '--tls-dns-names', 'localhost'],
      ...['--mutating-webhook-configuration', CONFIGURATION, '--validating-webhook-configuration', CONFIGURATION],
      ...['--tls-check-interval-seconds', '1', '--shutdown-grace-period-seconds', '5'],
    ],
    { env: { KUBECONFIG: cluster.kubeconfig } },
  );
}

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    httpsRequest({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

function decoded(secret: StoredSecret, key: string): string {
  return Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
}

let cluster: ClusterInfo;
let ownsCluster = false;
let kubectl: Kubectl;
const replicas: Spawned[] = [];

before(
  async () => {
    const shared = sharedCluster();
    ownsCluster = shared === undefined;
    cluster = shared ?? (await startCluster());
    kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
    await kubectl.ok(['apply', '-f', '-'], { input: toManifest([namespaceObject(NAMESPACE), ...configurations()]) });
  },
  { timeout: SETUP_TIMEOUT_MS },
);

after(
  async () => {
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((replica) => replica.exited));
    await kubectl.run(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], {
      input: toManifest([namespaceObject(NAMESPACE), ...configurations()]),
    });
    if (ownsCluster) await stopCluster(cluster);
  },
  { timeout: SETUP_TIMEOUT_MS },
);

test(
  `${REPLICAS} replicas with self-managed TLS started at once; one killed during a renewal`,
  { timeout: 240_000 },
  async (t) => {
    const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
    const startedAt = Date.now();
    replicas.push(...ports.map((port) => startReplica(cluster, port)));
    const allReady = await eventually(
      async () => (await Promise.all(ports.map(readyz))).every((status) => status === 200),
      60_000,
    );
    const convergedMs = Date.now() - startedAt;
    assert.ok(allReady, `all ${REPLICAS} replicas ready: ${replicas.map((replica) => replica.stderr()).join('\n')}`);
    const secret = await kubectl.getJson<StoredSecret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
    const ca = decoded(secret, 'ca.crt');
    const servingSerial = new X509Certificate(decoded(secret, 'tls.crt')).serialNumber;
    const served = await Promise.all(ports.map((port) => peerCertificateSerial(port, Buffer.from(ca))));
    assert.deepEqual(
      served,
      ports.map(() => servingSerial),
      'every replica serves the one certificate of the Secret',
    );
    for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
      const { webhooks } = await kubectl.getJson<{ webhooks: { clientConfig: { caBundle?: string } }[] }>([
        'get',
        kind,
        CONFIGURATION,
      ]);
      assert.equal(webhooks.length, 1);
      assert.equal(Buffer.from(webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8'), ca, kind);
    }

    const [victim, ...survivors] = replicas;
    const survivorPorts = ports.slice(1);
    const loads = survivorPorts.map((port) =>
      runLoad({
        port,
        path: '/mutate',
        body: POD_REVIEW,
        connections: 4,
        durationSeconds: LOAD_SECONDS,
        protocol: 'http/1.1',
        ca: [Buffer.from(ca)],
        requestsPerConnection: 20,
        accept: answersReview,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // A serving certificate due for renewal (valid 2 days, renewed 30 days before expiry), from the same CA.
    const due = issueServingCertificate(
      { certPem: ca, keyPem: decoded(secret, 'ca.key') },
      { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 },
    );
    const dueSerial = new X509Certificate(due.certPem).serialNumber;
    const renewalAt = Date.now();
    await kubectl.ok([
      'patch',
      'secret',
      SECRET,
      '-n',
      NAMESPACE,
      '--type=merge',
      '-p',
      JSON.stringify({
        data: {
          'tls.crt': Buffer.from(due.certPem).toString('base64'),
          'tls.key': Buffer.from(due.keyPem).toString('base64'),
        },
      }),
    ]);
    victim?.child.kill('SIGKILL');
    let renewedSerial = '';
    const renewed = await eventually(async () => {
      const current = await kubectl.getJson<StoredSecret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
      renewedSerial = new X509Certificate(decoded(current, 'tls.crt')).serialNumber;
      if (renewedSerial === dueSerial || renewedSerial === servingSerial) return false;
      const now = await Promise.all(survivorPorts.map((port) => peerCertificateSerial(port, Buffer.from(ca))));
      return now.every((serial) => serial === renewedSerial);
    }, 30_000);
    const renewalMs = Date.now() - renewalAt;
    const results = await Promise.all(loads);
    t.diagnostic(
      `${REPLICAS} replicas ready on one Secret, one CA, one caBundle ${convergedMs} ms after a simultaneous start; ` +
        `after the kill, the survivors renewed and served the new certificate in ${renewalMs} ms; ` +
        results
          .map((result, index) => `survivor ${index + 1}: ${result.requests} requests, ${result.failures} failed`)
          .join(', '),
    );
    assert.ok(renewed, `the survivors renewed (Secret serial ${renewedSerial})`);
    assert.deepEqual(
      results.map((result) => [result.failures, result.handshakeErrors, result.failureSamples]),
      survivors.map(() => [0, 0, []]),
    );
    assert.equal(
      new X509Certificate(
        decoded(await kubectl.getJson<StoredSecret>(['get', 'secret', SECRET, '-n', NAMESPACE]), 'ca.crt'),
      ).serialNumber,
      new X509Certificate(ca).serialNumber,
      'the CA is kept',
    );
  },
);
