/**
 * Mutation end to end: kubectl apply of a Dapr-enabled Deployment, the stored Deployment, and the
 * Pods that the ReplicaSet controller creates from it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { hasMatchConditions } from './support/cluster.ts';
import { apiTokenMessage, warningLine } from './support/expected.ts';
import { describeResult } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pick,
  podTemplateAnnotations,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  SIDECAR_ANNOTATION_KEYS,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';

const scenario = new Scenario({ name: 'sidecar', guard: { mode: 'enforce' }, namespaces: { app: {} } });

/** What `orders` sets itself; the other two come from dapr-guard. */
const USER_VALUES = { 'dapr.io/sidecar-cpu-request': '250m', 'dapr.io/sidecar-memory-limit': '1000Mi' };
const ORDERS_EXPECTED = { ...PRODUCTION_SIDECAR_ANNOTATIONS, ...USER_VALUES };

interface ObjectList {
  readonly items: KubeObject[];
}

describe('sidecar resources: kubectl apply of a Dapr-enabled Deployment', { timeout: 240_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'the stored Deployment carries the four sidecar annotations, and the values the user set are kept',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(deployment('orders', namespace, daprApp('orders', USER_VALUES), 2));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/orders created\n');
      assert.equal(result.stderr, `${warningLine('api-token', apiTokenMessage('Deployment', 'orders'))}\n`);
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
      const annotations = podTemplateAnnotations(stored);
      assert.deepEqual(pick(annotations, SIDECAR_ANNOTATION_KEYS), ORDERS_EXPECTED);
      assert.deepEqual(pick(annotations, ['dapr.io/enabled', 'dapr.io/app-id', 'dapr.io/app-port']), daprApp('orders'));
      const created = (await scenario.guard.reviews({ name: 'orders', namespace })).find(
        (review) => review.endpoint === 'mutate' && review.operation === 'CREATE',
      );
      assert.ok(created !== undefined, 'dapr-guard logged no /mutate review of the Deployment');
      assert.deepEqual(
        [created.kind, created.decision, created.mutated],
        ['apps/v1/Deployment', 'patched', ['sidecar-resources']],
      );
    }),
  );

  test(
    'the Pods that the ReplicaSet controller creates carry the same annotations, and dapr-guard reviewed them',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const pods = await eventually(
        async () => {
          const list = await scenario.kubectl.getJson<ObjectList>(['-n', namespace, 'get', 'pods', '-l', 'app=orders']);
          return list.items.length === 2 ? list.items : undefined;
        },
        { description: `the ReplicaSet controller to create the 2 Pods of ${namespace}/orders`, timeoutMs: 90_000 },
      );
      const replicaSets = await scenario.kubectl.getJson<ObjectList>([
        '-n',
        namespace,
        'get',
        'replicasets',
        '-l',
        'app=orders',
      ]);
      assert.equal(replicaSets.items.length, 1);
      assert.deepEqual(
        pick(podTemplateAnnotations(replicaSets.items[0] ?? {}), SIDECAR_ANNOTATION_KEYS),
        ORDERS_EXPECTED,
      );
      for (const pod of pods) {
        const name = pod.metadata?.name ?? '';
        assert.deepEqual(
          pick(pod.metadata?.annotations ?? {}, SIDECAR_ANNOTATION_KEYS),
          ORDERS_EXPECTED,
          `Pod ${name}`,
        );
        assert.ok(Array.isArray(pod.metadata?.['ownerReferences']), `Pod ${name} has no owner`);
        // The Pod went through both webhooks; it had the annotations from the template already.
        const validated = (await scenario.guard.reviews({ name, namespace })).filter(
          (review) => review.endpoint === 'validate',
        );
        assert.deepEqual(
          validated.map((review) => [review.kind, review.operation, review.decision]),
          [['core/v1/Pod', 'CREATE', 'allowed']],
          `dapr-guard's /validate reviews of Pod ${name}`,
        );
      }
      const podMutations = (await scenario.guard.reviews({ namespace })).filter(
        (review) => review.endpoint === 'mutate' && review.kind === 'core/v1/Pod',
      );
      assert.ok(podMutations.length >= 2, `expected /mutate reviews of the 2 Pods, got ${podMutations.length}`);
      assert.deepEqual(
        [...new Set(podMutations.map((review) => review.decision))],
        ['allowed'],
        'the Pods needed no patch',
      );
    }),
  );

  test(
    'UPDATE: a changed user value is kept, and a value the user removes falls back to the default',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const changed = daprApp('orders', { 'dapr.io/sidecar-memory-limit': '2000Mi' });
      const result = await scenario.kubectl.apply(deployment('orders', namespace, changed, 2));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/orders configured\n');
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
      assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {
        ...PRODUCTION_SIDECAR_ANNOTATIONS,
        'dapr.io/sidecar-memory-limit': '2000Mi',
      });
      const updates = (await scenario.guard.reviews({ name: 'orders', namespace })).filter(
        (review) => review.endpoint === 'mutate' && review.operation === 'UPDATE',
      );
      assert.ok(
        updates.some((review) => review.decision === 'patched' && review.mutated.includes('sidecar-resources')),
        `no patched UPDATE review of orders: ${JSON.stringify(updates)}`,
      );
    }),
  );

  test(
    'a Deployment that sets all four keeps them exactly; dapr-guard patches nothing',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const own = {
        'dapr.io/sidecar-cpu-request': '300m',
        'dapr.io/sidecar-cpu-limit': '2',
        'dapr.io/sidecar-memory-request': '128Mi',
        'dapr.io/sidecar-memory-limit': '512Mi',
      };
      const result = await scenario.kubectl.apply(
        deployment(
          'payments',
          namespace,
          daprApp('payments', { ...own, 'dapr.io/api-token-secret': 'dapr-api-token' }),
        ),
      );

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/payments created\n');
      assert.equal(result.stderr, '', 'no warning: the API token is configured');
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'payments']);
      assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), own);
      const created = (await scenario.guard.reviews({ name: 'payments', namespace })).find(
        (review) => review.endpoint === 'mutate' && review.operation === 'CREATE',
      );
      assert.deepEqual([created?.decision, created?.mutated], ['allowed', []]);
    }),
  );

  test(
    'a Deployment without Dapr is left as it is',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(deployment('plain', namespace, { 'example.com/team': 'web' }));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stderr, '');
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'plain']);
      assert.deepEqual(podTemplateAnnotations(stored), { 'example.com/team': 'web' });
      const reviews = (await scenario.guard.reviews({ name: 'plain', namespace })).filter(
        (review) => review.operation === 'CREATE',
      );
      if (hasMatchConditions(scenario.cluster)) {
        // 1.28+: the chart's matchConditions keep workloads without dapr.io/* annotations away from dapr-guard.
        assert.deepEqual(reviews, []);
      } else {
        // Older API servers send it; dapr-guard allows it unchanged.
        assert.deepEqual(reviews.map((review) => [review.endpoint, review.decision]).sort(), [
          ['mutate', 'allowed'],
          ['validate', 'allowed'],
        ]);
      }
    }),
  );

  test(
    'kubectl apply --dry-run=server shows the annotations and stores nothing',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(deployment('preview', namespace, daprApp('preview')), [
        '--dry-run=server',
        '-o',
        'json',
      ]);

      assert.equal(result.code, 0, describeResult('kubectl apply --dry-run=server', result));
      assert.deepEqual(
        pick(podTemplateAnnotations(JSON.parse(result.stdout) as KubeObject), SIDECAR_ANNOTATION_KEYS),
        PRODUCTION_SIDECAR_ANNOTATIONS,
      );
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'deployment', 'preview']), false);
      const reviews = await scenario.guard.reviews({ name: 'preview', namespace });
      assert.ok(
        reviews.length > 0 && reviews.every((review) => review.dryRun),
        'dapr-guard saw the request as a dry run',
      );
    }),
  );
});
