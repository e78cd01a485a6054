/**
 * The chart's TLS choice 4 against a real API server: dapr-guard creates its CA and certificate in
 * a Secret shared by its replicas and publishes the CA into both webhook configurations (rendered
 * by the chart without a caBundle) before it reports ready; the API server then trusts it.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { helmTemplate } from '../support/helm.ts';
import { freePort, spawnNode, type Spawned } from '../support/process.ts';
import { markFailed, sharedCluster, startCluster, stopCluster, type ClusterInfo } from './support/cluster.ts';
import { Kubectl, toManifest } from './support/kubectl.ts';
import { daprApp, deployment, namespaceObject, randomSuffix } from './support/objects.ts';
import { SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';

const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;
const RELEASE = 'e2e-self-managed';
const CONFIGURATION = `dapr-guard-${RELEASE}`;
const SECRET = 'dapr-guard-e2e-self-managed-tls';

interface Webhook {
  readonly name: string;
  readonly clientConfig: {
    readonly url?: string;
    readonly caBundle?: string;
    readonly service?: { readonly path?: string };
  };
}

function readyz(host: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    httpsRequest({ host, port, path: '/readyz', rejectUnauthorized: false, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

describe('self-managed TLS (tls.mode=selfManaged)', () => {
  const suffix = randomSuffix();
  const secretNamespace = `e2e-selfmanaged-${suffix}`;
  const appNamespace = `e2e-selfmanaged-app-${suffix}`;
  let cluster: ClusterInfo;
  let ownsCluster = false;
  let kubectl: Kubectl;
  let host: string;
  let port: number;
  const replicas: Spawned[] = [];

  const startReplica = (listenPort: number): Spawned => {
    const dnsNames = isIP(host) === 0 && host !== 'localhost' ? ['--tls-dns-names', host] : [];
    const replica = spawnNode(
      [
        MAIN,
        '--host',
        cluster.listenHost,
        '--port',
        String(listenPort),
        '--metrics-enabled',
        'false',
        '--namespace-modes',
        'off',
        '--shutdown-grace-period-seconds',
        '5',
        '--tls-self-managed',
        'true',
        '--tls-secret-name',
        SECRET,
        '--tls-secret-namespace',
        secretNamespace,
        '--service-name',
        'dapr-guard',
        '--service-namespace',
        secretNamespace,
        '--mutating-webhook-configuration',
        CONFIGURATION,
        '--validating-webhook-configuration',
        CONFIGURATION,
        '--tls-check-interval-seconds',
        '1',
        ...dnsNames,
      ],
      { env: { KUBECONFIG: cluster.kubeconfig } },
    );
    replicas.push(replica);
    return replica;
  };

  const webhooks = async (kind: string): Promise<Webhook[]> =>
    (await kubectl.getJson<{ webhooks: Webhook[] }>(['get', kind, CONFIGURATION])).webhooks;

  before(
    async () => {
      const shared = sharedCluster();
      ownsCluster = shared === undefined;
      cluster = shared ?? (await startCluster());
      kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
      host = cluster.webhookHost;
      port = await freePort();
      await kubectl.ok(['apply', '-f', '-'], {
        input: toManifest([namespaceObject(secretNamespace), namespaceObject(appNamespace)]),
      });
      // The chart's registration for this choice has no caBundle: only the URL is rewritten, because
      // a Service cannot route to this machine from the test API server.
      const rendered = helmTemplate({
        releaseName: RELEASE,
        namespace: secretNamespace,
        kubeVersion: cluster.serverVersion,
        values: { tls: { mode: 'selfManaged' } },
      });
      const configurations = rendered
        .filter(
          (object) =>
            object.kind === 'MutatingWebhookConfiguration' || object.kind === 'ValidatingWebhookConfiguration',
        )
        .map((object): KubeObject => ({
          ...object,
          webhooks: (object['webhooks'] as Webhook[]).map((webhook) => {
            assert.equal(webhook.clientConfig.caBundle, undefined, `the chart rendered a caBundle for ${webhook.name}`);
            const address = isIP(host) === 6 ? `[${host}]` : host;
            return {
              ...webhook,
              clientConfig: { url: `https://${address}:${port}${webhook.clientConfig.service?.path ?? ''}` },
            };
          }),
        }));
      assert.equal(configurations.length, 2);
      await kubectl.ok(['apply', '-f', '-'], { input: toManifest(configurations) });
    },
    { timeout: SETUP_TIMEOUT_MS },
  );

  after(
    async () => {
      for (const replica of replicas) replica.child.kill('SIGTERM');
      await Promise.all(replicas.map((replica) => replica.exited));
      await kubectl.run(['delete', 'mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
      await kubectl.run(['delete', 'validatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
      await kubectl.run(['delete', 'namespace', secretNamespace, appNamespace, '--ignore-not-found', '--wait=false']);
      if (ownsCluster) await stopCluster(cluster);
    },
    { timeout: SETUP_TIMEOUT_MS },
  );

  test('the server creates the Secret, publishes the CA into every webhook, then reports ready; the API server trusts it', async (t) => {
    try {
      const first = startReplica(port);
      await first.waitFor(/dapr-guard is serving/, 30_000);
      await eventually(async () => ((await readyz('127.0.0.1', port)) === 200 ? true : undefined), {
        description: 'dapr-guard /readyz to answer 200',
      });
      const secret = await kubectl.getJson<{ type: string; data: Record<string, string> }>([
        'get',
        'secret',
        SECRET,
        '-n',
        secretNamespace,
      ]);
      assert.equal(secret.type, 'kubernetes.io/tls');
      assert.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
      const caPem = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8');
      const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
      assert.ok(serving.verify(new X509Certificate(caPem).publicKey));
      assert.match(serving.subjectAltName ?? '', new RegExp(`DNS:dapr-guard\\.${secretNamespace}\\.svc`));
      for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
        for (const webhook of await webhooks(kind))
          assert.equal(webhook.clientConfig.caBundle, secret.data['ca.crt'], `${kind} ${webhook.name}`);
      }
      const probe = deployment('selfmanaged-probe', appNamespace, daprApp('selfmanaged-probe'));
      const stored = await eventually(
        async () => {
          const result = await kubectl.create(probe, ['--dry-run=server', '-o', 'json']);
          if (result.code !== 0) throw new Error(result.stderr);
          const annotations = (
            JSON.parse(result.stdout) as { spec: { template: { metadata: { annotations: Record<string, string> } } } }
          ).spec.template.metadata.annotations;
          return annotations['dapr.io/sidecar-cpu-limit'] === undefined ? undefined : annotations;
        },
        { description: 'the API server to call dapr-guard over the self-managed certificate' },
      );
      assert.equal(stored['dapr.io/sidecar-memory-limit'], '4000Mi');
    } catch (error: unknown) {
      markFailed(cluster, 'self-managed-tls');
      t.diagnostic(replicas.map((replica) => replica.stdout().split('\n').slice(-20).join('\n')).join('\n---\n'));
      throw error;
    }
  });

  test('a second replica reuses the Secret instead of creating its own certificate', async () => {
    const before = await kubectl.getJson<{ metadata: { resourceVersion: string }; data: Record<string, string> }>([
      'get',
      'secret',
      SECRET,
      '-n',
      secretNamespace,
    ]);
    const secondPort = await freePort();
    const second = startReplica(secondPort);
    await second.waitFor(/dapr-guard is serving/, 30_000);
    await eventually(async () => ((await readyz('127.0.0.1', secondPort)) === 200 ? true : undefined), {
      description: 'the second replica to be ready',
    });
    const after = await kubectl.getJson<{ metadata: { resourceVersion: string }; data: Record<string, string> }>([
      'get',
      'secret',
      SECRET,
      '-n',
      secretNamespace,
    ]);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    const served = await new Promise<string>((resolve, reject) => {
      const request = httpsRequest(
        { host: '127.0.0.1', port: secondPort, path: '/healthz', rejectUnauthorized: false },
        (response) => {
          response.resume();
          resolve((response.socket as TLSSocket).getPeerX509Certificate()?.serialNumber ?? '');
        },
      );
      request.on('error', reject);
      request.end();
    });
    assert.equal(served, new X509Certificate(Buffer.from(after.data['tls.crt'] ?? '', 'base64')).serialNumber);
  });

  test('a caBundle removed from a webhook configuration (for example by a helm upgrade) is published again', async () => {
    await kubectl.ok([
      'patch',
      'mutatingwebhookconfiguration',
      CONFIGURATION,
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }]),
    ]);
    const secret = await kubectl.getJson<{ data: Record<string, string> }>([
      'get',
      'secret',
      SECRET,
      '-n',
      secretNamespace,
    ]);
    await eventually(
      async () =>
        (await webhooks('mutatingwebhookconfiguration'))[0]?.clientConfig.caBundle === secret.data['ca.crt']
          ? true
          : undefined,
      { description: 'dapr-guard to publish the caBundle again', timeoutMs: 15_000 },
    );
  });
});
