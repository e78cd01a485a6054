/**
 * The MutatingAdmissionPolicy runs before Dapr's injector: with only the chart's native policies active
 * (no dapr-guard process, no dapr-guard webhook registered) and Dapr 1.18's real sidecar injector
 * (support/dapr-control-plane.ts), a Dapr-enabled Pod or Deployment created without sidecar
 * annotations runs its daprd container with the production resources. The API server calls mutating
 * admission policies before every mutating webhook, so the annotations are there when the injector
 * reads them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { sharedCluster, startCluster, stopCluster, type ClusterInfo } from './support/cluster.ts';
import { DAPR_NAMESPACE, DaprControlPlane, daprUnavailableReason } from './support/dapr-control-plane.ts';
import { describeResult, Kubectl, toManifest } from './support/kubectl.ts';
import {
  installNativePolicies,
  removeNativePolicies,
  renderNativePolicies,
  webhookConfigurations,
  type NativePolicies,
} from './support/native-policies.ts';
import {
  daprApp,
  deployment,
  namespaceObject,
  pod,
  podContainers,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  randomSuffix,
  type Container,
} from './support/objects.ts';
import { eventually } from './support/wait.ts';

const NAMESPACE = `e2e-native-injector-${randomSuffix()}`;
const PRODUCTION_RESOURCES = { requests: { cpu: '100m', memory: '250Mi' }, limits: { cpu: '4', memory: '4000Mi' } };

let cluster: ClusterInfo;
let ownsCluster = false;
let kubectl: Kubectl;
let dapr: DaprControlPlane | undefined;
let policies: NativePolicies = { objects: [], servesValidating: false, servesMutating: false };
let skipReason: string | undefined;
/** daprd of a dry-run Pod before the policies were installed: what the injector does on its own. */
let daprdWithoutPolicies: Container | undefined;

function daprd(object: KubeObject): Container | undefined {
  return podContainers(object).containers.find((container) => container.name === 'daprd');
}

function skipped(t: TestContext): boolean {
  if (skipReason === undefined) return false;
  t.skip(skipReason);
  return true;
}

function withInjectorLog(error: unknown): unknown {
  if (dapr !== undefined && error instanceof Error)
    error.message += `\n\n--- Dapr injector log (last lines) ---\n${dapr.injectorLogTail()}\n---`;
  return error;
}

describe("native policies before Dapr's injector, with dapr-guard stopped", { timeout: 600_000 }, () => {
  before(
    async () => {
      const shared = sharedCluster();
      ownsCluster = shared === undefined;
      cluster = shared ?? (await startCluster());
      kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
      skipReason = daprUnavailableReason(cluster);
      if (skipReason !== undefined) return;
      policies = await renderNativePolicies(cluster, kubectl);
      if (!policies.servesMutating) {
        skipReason = 'the API server serves no MutatingAdmissionPolicy (Kubernetes 1.36+)';
        return;
      }
      await kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaceObject(NAMESPACE)) });
      // dapr-injector.e2e.ts leaves dapr-system in place; start() waits until it is gone and recreates it.
      await kubectl.ok(['delete', 'namespace', DAPR_NAMESPACE, '--ignore-not-found', '--wait=false']);
      dapr = await DaprControlPlane.start(cluster, kubectl);
      await dapr.waitUntilInjecting(NAMESPACE);
      const before = await kubectl.create(pod('orders', NAMESPACE, daprApp('orders')), [
        '--dry-run=server',
        '-o',
        'json',
      ]);
      if (before.code !== 0) throw new Error(describeResult('dry run before the policies', before));
      daprdWithoutPolicies = daprd(JSON.parse(before.stdout) as KubeObject);
      await installNativePolicies(kubectl, policies, NAMESPACE);
    },
    { timeout: 900_000 },
  );
  after(
    async () => {
      await dapr?.stop();
      if (kubectl !== undefined) {
        await removeNativePolicies(kubectl, policies);
        await kubectl.run(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false']);
      }
      if (ownsCluster) await stopCluster(cluster);
    },
    { timeout: 300_000 },
  );

  test('only the policies and the injector are registered: no dapr-guard webhook', async (t) => {
    if (skipped(t)) return;
    assert.deepEqual(await webhookConfigurations(kubectl), [
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/dapr-sidecar-injector',
    ]);
  });

  test('before the policies, the injector alone gives daprd no resources at all', (t) => {
    if (skipped(t)) return;
    assert.ok(daprdWithoutPolicies !== undefined, 'no daprd container before the policies');
    assert.deepEqual(daprdWithoutPolicies.resources ?? {}, {});
  });

  test('a Dapr Pod created without sidecar annotations: the injected daprd has the production resources', async (t) => {
    if (skipped(t)) return;
    try {
      const result = await kubectl.create(pod('orders', NAMESPACE, daprApp('orders')), ['-o', 'json']);
      assert.equal(result.code, 0, describeResult('kubectl create', result));
      const stored = JSON.parse(result.stdout) as KubeObject;
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(stored.metadata?.annotations ?? {}).filter(([key]) => key.startsWith('dapr.io/sidecar-')),
        ),
        PRODUCTION_SIDECAR_ANNOTATIONS,
      );
      assert.deepEqual(daprd(stored)?.resources, PRODUCTION_RESOURCES);
    } catch (error: unknown) {
      throw withInjectorLog(error);
    }
  });

  test('a Deployment: the Pods its ReplicaSet creates run daprd with the production resources, a user limit kept', async (t) => {
    if (skipped(t)) return;
    try {
      const result = await kubectl.apply(
        deployment('billing', NAMESPACE, daprApp('billing', { 'dapr.io/sidecar-cpu-limit': '2' })),
      );
      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      const created = await eventually(
        async () => {
          const list = await kubectl.getJson<{ items: KubeObject[] }>([
            '-n',
            NAMESPACE,
            'get',
            'pods',
            '-l',
            'app=billing',
          ]);
          return list.items.length === 1 ? list.items[0] : undefined;
        },
        { description: `the ReplicaSet controller to create the Pod of ${NAMESPACE}/billing`, timeoutMs: 90_000 },
      );
      assert.deepEqual(daprd(created)?.resources, {
        requests: { cpu: '100m', memory: '250Mi' },
        limits: { cpu: '2', memory: '4000Mi' },
      });
    } catch (error: unknown) {
      throw withInjectorLog(error);
    }
  });
});
