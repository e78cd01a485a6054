/**
 * `dapr-guard audit` next to Dapr's real control plane (the injector and Sentry of
 * support/dapr-control-plane.ts): Pods the injector gave `daprd` are stale once the injector's sidecar
 * image setting moves on (the chart's injector Deployment with a new SIDECAR_IMAGE, as `helm upgrade
 * --set global.tag=…` writes it), and the trust bundle Dapr's chart stored (valid 2 days) is expiring.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { parseManifests } from '../support/helm.ts';
import { spawnNode } from '../support/process.ts';
import {
  DAPR_MANIFESTS,
  REPO_ROOT,
  sharedCluster,
  startCluster,
  stopCluster,
  type ClusterInfo,
} from './support/cluster.ts';
import { DAPR_NAMESPACE, DAPR_VERSION, DaprControlPlane, daprUnavailableReason } from './support/dapr-control-plane.ts';
import { Kubectl, toManifest } from './support/kubectl.ts';
import { daprApp, deployment, namespaceObject, randomSuffix } from './support/objects.ts';
import { eventually } from './support/wait.ts';

interface Finding {
  readonly object: { kind: string; namespace?: string; name: string };
  readonly ruleId: string;
  readonly mode: string;
  readonly message: string;
}

let cluster: ClusterInfo;
let ownsCluster = false;
let kubectl: Kubectl;
let dapr: DaprControlPlane | undefined;
let skipReason: string | undefined;
const APP = `e2e-audit-dapr-${randomSuffix()}`;

async function auditFindings(): Promise<Finding[]> {
  const run = spawnNode(
    [join(REPO_ROOT, 'dist', 'main.js'), 'audit', '--kubeconfig', cluster.kubeconfig, '-o', 'json'],
    {
      env: { KUBECONFIG: '' },
    },
  );
  await run.exited;
  return (JSON.parse(run.stdout()) as { findings: Finding[] }).findings;
}

/** The chart's injector Deployment (rendered Dapr chart) with this sidecar image: what an upgrade stores. */
function upgradedInjector(sidecarImage: string): KubeObject {
  const rendered = parseManifests(readFileSync(join(DAPR_MANIFESTS, 'rendered', 'dapr-system.yaml'), 'utf8'));
  const found = rendered.find(
    (object) => object.kind === 'Deployment' && object.metadata?.name === 'dapr-sidecar-injector',
  );
  assert.ok(found !== undefined);
  return JSON.parse(
    JSON.stringify(found).replace('"ghcr.io/dapr/daprd:edge"', JSON.stringify(sidecarImage)),
  ) as KubeObject;
}

function skipped(t: TestContext): boolean {
  if (skipReason === undefined) return false;
  t.skip(skipReason);
  return true;
}

describe("dapr-guard audit next to Dapr's real injector", { timeout: 600_000 }, () => {
  before(
    async () => {
      const shared = sharedCluster();
      ownsCluster = shared === undefined;
      cluster = shared ?? (await startCluster());
      kubectl = new Kubectl(cluster.kubeconfig, cluster.kubectl);
      skipReason = daprUnavailableReason(cluster);
      if (skipReason !== undefined) return;
      await kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaceObject(APP)) });
      dapr = await DaprControlPlane.start(cluster, kubectl);
      await dapr.waitUntilInjecting(APP);
    },
    { timeout: 900_000 },
  );
  after(
    async () => {
      await kubectl.run(['-n', DAPR_NAMESPACE, 'delete', 'deployment', 'dapr-sidecar-injector', '--ignore-not-found']);
      await dapr?.stop();
      await kubectl.run(['delete', 'namespace', APP, '--ignore-not-found', '--wait=false']);
      if (ownsCluster) await stopCluster(cluster);
    },
    { timeout: 300_000 },
  );

  test("the injector's Pods are current; after its sidecar image moves on they are stale, with the rollout command", async (t) => {
    if (skipped(t)) return;
    await kubectl.ok(['apply', '-f', '-'], { input: toManifest(deployment('orders', APP, daprApp('orders'), 2)) });
    const pods = await eventually(
      async () => {
        const list = await kubectl.getJson<{ items: KubeObject[] }>(['-n', APP, 'get', 'pods', '-l', 'app=orders']);
        return list.items.length === 2 ? list.items : undefined;
      },
      { description: 'the two Pods of orders', timeoutMs: 90_000 },
    );
    const images = pods.map((pod) => {
      const spec = pod['spec'] as { containers: { name: string; image: string }[] };
      return spec.containers.find((container) => container.name === 'daprd')?.image;
    });
    assert.deepEqual(
      images,
      [`ghcr.io/dapr/daprd:${DAPR_VERSION}`, `ghcr.io/dapr/daprd:${DAPR_VERSION}`],
      "Dapr's injector added daprd",
    );

    const before = await auditFindings();
    assert.deepEqual(
      before.filter((finding) => finding.ruleId === 'stale-sidecar'),
      [],
    );
    // The Pods the injector made run daprd without the production resources (dapr-guard was not registered).
    assert.deepEqual(
      before
        .filter((finding) => finding.ruleId === 'running-sidecar-resources' && finding.object.namespace === APP)
        .map((finding) => finding.object.name),
      ['orders'],
    );
    // Dapr's chart stored a trust bundle valid for 2 days (support/dapr-control-plane.ts): expiring.
    assert.deepEqual(
      before
        .filter((finding) => finding.ruleId === 'trust-bundle-expiry')
        .map((finding) => `${finding.mode} ${finding.object.namespace ?? ''}/${finding.object.name}`),
      [`warn ${DAPR_NAMESPACE}/dapr-trust-bundle`, `warn ${DAPR_NAMESPACE}/dapr-trust-bundle`],
    );

    await kubectl.ok(['-n', DAPR_NAMESPACE, 'apply', '-f', '-'], {
      input: toManifest(upgradedInjector('ghcr.io/dapr/daprd:1.18.4')),
    });
    const stale = (await auditFindings()).filter((finding) => finding.ruleId === 'stale-sidecar');
    assert.deepEqual(stale, [
      {
        cluster: stale[0] === undefined ? null : (stale[0] as unknown as { cluster: string }).cluster,
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: APP, name: 'orders' },
        type: 'violation',
        ruleId: 'stale-sidecar',
        mode: 'warn',
        message:
          `2 of 2 Pods of Deployment ${APP}/orders run daprd "ghcr.io/dapr/daprd:${DAPR_VERSION}", not "1.18.4" of the control ` +
          `plane (Deployment ${DAPR_NAMESPACE}/dapr-sidecar-injector) — kubectl rollout restart deploy/orders -n ${APP}`,
      },
    ]);
  });
});
