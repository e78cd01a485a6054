/**
 * The product's promise, shown on the container Dapr's own injector (Dapr 1.18, built from
 * github.com/dapr/dapr, support/dapr-control-plane.ts) creates: a Dapr-enabled Deployment applied
 * without sidecar annotations runs its `daprd` with the production resources, because dapr-guard's
 * annotations reach the Pods the ReplicaSet controller creates before Dapr's injector reads them.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { DaprControlPlane, daprUnavailableReason } from './support/dapr-control-plane.ts';
import { apiTokenMessage, deniedCreateLine, lines, warningLine } from './support/expected.ts';
import { describeResult } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pod,
  podContainers,
  type Container,
  type ResourceRequirements,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';
import { WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'injector', guard: { mode: 'enforce' }, namespaces: { app: {} } });
let dapr: DaprControlPlane | undefined;
let skipReason: string | undefined;

/** The Dapr production guidelines' sidecar resources, as Kubernetes stores them on the container. */
const PRODUCTION_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '250Mi' },
  limits: { cpu: '4', memory: '4000Mi' },
};

interface ObjectList {
  readonly items: KubeObject[];
}

/** The Pods the ReplicaSet controller created for Deployment `name` (waits until there are `count`). */
async function podsOf(namespace: string, name: string, count = 1): Promise<KubeObject[]> {
  return eventually(
    async () => {
      const list = await scenario.kubectl.getJson<ObjectList>(['-n', namespace, 'get', 'pods', '-l', `app=${name}`]);
      return list.items.length === count ? list.items : undefined;
    },
    { description: `the ReplicaSet controller to create ${count} Pod(s) of ${namespace}/${name}`, timeoutMs: 90_000 },
  );
}

function daprd(object: KubeObject, where: 'containers' | 'initContainers'): Container | undefined {
  return podContainers(object)[where].find((container) => container.name === 'daprd');
}

function containerNames(object: KubeObject): { containers: string[]; initContainers: string[] } {
  const { containers, initContainers } = podContainers(object);
  return {
    containers: containers.map((container) => container.name),
    initContainers: initContainers.map((container) => container.name),
  };
}

/**
 * With E2E_RECORD_INJECTED_PODS=<directory>, writes the Pods as stored (what Dapr 1.18's injector made
 * of them) to <directory>/<name>.json: how test/fixtures/injected-pods/ was recorded.
 */
async function recordInjectedPods(pods: Readonly<Record<string, KubeObject>>): Promise<void> {
  const directory = process.env['E2E_RECORD_INJECTED_PODS'];
  if (directory === undefined || directory === '') return;
  await mkdir(directory, { recursive: true });
  for (const [name, object] of Object.entries(pods))
    await writeFile(join(directory, `${name}.json`), `${JSON.stringify(object, null, 2)}\n`);
}

/** Skips the test when the Dapr control plane does not run on this cluster; true when skipped. */
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

/** scenario.check, with the injector's log on failure and the skip when Dapr does not run here. */
function daprCheck(body: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
  return scenario.check(async (t) => {
    if (skipped(t)) return;
    try {
      await body(t);
    } catch (error: unknown) {
      throw withInjectorLog(error);
    }
  });
}

describe("Dapr's sidecar injector: the daprd container gets the production resources", { timeout: 600_000 }, () => {
  before(
    async () => {
      await scenario.start();
      skipReason = daprUnavailableReason(scenario.cluster);
      if (skipReason !== undefined) return;
      dapr = await DaprControlPlane.start(scenario.cluster, scenario.kubectl);
      await dapr.waitUntilInjecting(scenario.namespace('app'));
    },
    { timeout: SETUP_TIMEOUT_MS + 600_000 },
  );
  after(
    async () => {
      await dapr?.stop();
      await scenario.stop();
    },
    { timeout: SETUP_TIMEOUT_MS },
  );

  test(
    'a Deployment applied without sidecar annotations: the Pods run daprd with requests 100m/250Mi and limits 4/4000Mi',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(deployment('orders', namespace, daprApp('orders')));
      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/orders created\n');

      const [created] = await podsOf(namespace, 'orders');
      assert.ok(created !== undefined);
      assert.deepEqual(containerNames(created), { containers: ['app', 'daprd'], initContainers: [] });
      assert.deepEqual(daprd(created, 'containers')?.resources, PRODUCTION_RESOURCES);
    }),
  );

  test(
    'a dapr.io/sidecar-cpu-limit the user set is the limit of the daprd container; the other three are the defaults',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(
        deployment('billing', namespace, daprApp('billing', { 'dapr.io/sidecar-cpu-limit': '2' })),
      );
      assert.equal(result.code, 0, describeResult('kubectl apply', result));

      const [created] = await podsOf(namespace, 'billing');
      assert.ok(created !== undefined);
      assert.deepEqual(daprd(created, 'containers')?.resources, {
        requests: { cpu: '100m', memory: '250Mi' },
        limits: { cpu: '2', memory: '4000Mi' },
      });
    }),
  );

  test(
    'with dapr.io/enable-native-sidecar: "true" daprd is a native sidecar (an init container that keeps running) with the same resources',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(
        deployment('shipping', namespace, daprApp('shipping', { 'dapr.io/enable-native-sidecar': 'true' })),
      );
      assert.equal(result.code, 0, describeResult('kubectl apply', result));

      const [created] = await podsOf(namespace, 'shipping');
      assert.ok(created !== undefined);
      assert.deepEqual(containerNames(created), { containers: ['app'], initContainers: ['daprd'] });
      const sidecar = daprd(created, 'initContainers');
      assert.equal(sidecar?.restartPolicy, 'Always');
      assert.deepEqual(sidecar?.resources, PRODUCTION_RESOURCES);
    }),
  );

  test(
    'the final-state check: a Pod whose injected daprd lacks its annotated resources is reported, with or without native sidecars',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      // An administrator's exemption lets an invalid value through sidecar-resource-values, so the injector drops all four.
      const exemption = {
        'dapr-guard.io/exempt': 'sidecar-resource-values',
        'dapr-guard.io/exempt-reason': 'e2e: the final-state check',
      };
      const broken = (name: string, extra: Readonly<Record<string, string>> = {}): KubeObject => {
        const object = deployment(name, namespace, {
          ...daprApp(name, { 'dapr.io/sidecar-cpu-limit': 'lots', ...extra }),
          ...exemption,
        });
        return { ...object, metadata: { ...object.metadata, annotations: exemption } };
      };
      const result = await scenario.kubectl.apply([
        broken('ledger'),
        broken('audit', { 'dapr.io/enable-native-sidecar': 'true' }),
      ]);
      assert.equal(result.code, 0, describeResult('kubectl apply', result));

      const [ledger] = await podsOf(namespace, 'ledger');
      const [audit] = await podsOf(namespace, 'audit');
      assert.ok(ledger !== undefined && audit !== undefined);
      assert.deepEqual(daprd(ledger, 'containers')?.resources ?? {}, {});
      assert.equal(daprd(audit, 'initContainers')?.restartPolicy, 'Always');
      assert.deepEqual(daprd(audit, 'initContainers')?.resources ?? {}, {});
      await recordInjectedPods({ 'pod-containers-unparsable': ledger, 'pod-native-sidecar-unparsable': audit });

      // The Pods are the ReplicaSet controller's: the warning goes to it, and into dapr-guard's log
      // (api-token looks at the Deployment, not at the Pods a controller creates from it).
      const validated = async (app: string): Promise<unknown[]> =>
        (await scenario.guard.reviews({ namespace }))
          .filter((review) => review.endpoint === 'validate' && review.kind === 'core/v1/Pod')
          .filter((review) => review.name.startsWith(`${app}-`))
          .map((review) => [review.operation, review.decision, review.rules, review.exempted]);
      const expected = [['CREATE', 'allowed', ['sidecar-resources-applied'], ['sidecar-resource-values']]];
      assert.deepEqual(await validated('ledger'), expected);
      assert.deepEqual(await validated('audit'), expected);

      // Pods whose daprd got its resources are not reported.
      const [orders] = await podsOf(namespace, 'orders');
      const [shipping] = await podsOf(namespace, 'shipping');
      assert.ok(orders !== undefined && shipping !== undefined);
      await recordInjectedPods({ 'pod-containers': orders, 'pod-native-sidecar': shipping });
      assert.deepEqual(await validated('orders'), [['CREATE', 'allowed', [], []]]);
      assert.deepEqual(await validated('shipping'), [['CREATE', 'allowed', [], []]]);
    }),
  );

  test(
    'a Pod with an invalid quantity is refused, so the injector never gets to drop all four values',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.create(
        pod('invoices', namespace, daprApp('invoices', { 'dapr.io/sidecar-cpu-limit': 'lots' })),
      );

      assert.equal(result.code, 1, describeResult('kubectl create', result));
      assert.equal(result.stdout, '');
      const denial = deniedCreateLine(
        WEBHOOK.workloads,
        'sidecar-resource-values',
        'dapr.io/sidecar-cpu-limit "lots" is not a Kubernetes quantity — use a value such as "4" or "500m"; Dapr ignores all four sidecar resource annotations when one is invalid',
      );
      // The injector runs before any validating webhook: the final-state check sees what it made of the value.
      const unapplied =
        'Pod "invoices": daprd lacks the cpu/memory requests and limits its dapr.io/sidecar-* annotations ask for: the injector drops all four when one does not parse — fix it and recreate the Pod';
      assert.deepEqual(lines(result.stderr), [
        warningLine('sidecar-resources-applied', unapplied),
        warningLine('api-token', apiTokenMessage('Pod', 'invoices')),
        denial,
      ]);
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'pod', 'invoices']), false);
    }),
  );

  test(
    'dapr-guard stopped: Deployments still get Pods (fail-open) and the injector still injects daprd, now without any resources',
    daprCheck(async () => {
      const namespace = scenario.namespace('app');
      const ended = await scenario.guard.stop();
      assert.equal(ended.code, 0, 'dapr-guard exit code after SIGTERM');

      const result = await scenario.kubectl.apply(deployment('reports', namespace, daprApp('reports')));
      assert.equal(result.code, 0, describeResult('kubectl apply with dapr-guard stopped', result));
      const [created] = await podsOf(namespace, 'reports');
      assert.ok(created !== undefined);
      assert.deepEqual(containerNames(created), { containers: ['app', 'daprd'], initContainers: [] });
      // Dapr itself has no sidecar defaults: without dapr-guard, daprd runs unbounded.
      assert.deepEqual(daprd(created, 'containers')?.resources ?? {}, {});

      // What dapr-guard refuses in enforce mode: the invalid value silently costs all four.
      const invalid = await scenario.kubectl.create(
        pod(
          'invoices',
          namespace,
          daprApp('invoices', { 'dapr.io/sidecar-cpu-limit': 'lots', 'dapr.io/sidecar-memory-limit': '4000Mi' }),
        ),
      );
      assert.equal(invalid.code, 0, describeResult('kubectl create with dapr-guard stopped', invalid));
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'pod', 'invoices']);
      assert.deepEqual(daprd(stored, 'containers')?.resources ?? {}, {});
    }),
  );
});
