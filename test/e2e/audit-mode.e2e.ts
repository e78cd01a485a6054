/**
 * `--mode audit` (and the chart rendered with `mode: audit`): objects are created as written, kubectl
 * prints no warning, and what dapr-guard found is in the API server's audit log, under
 * `<webhook name>/<rule-id>` keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEventOf } from './support/audit-log.ts';
import { apiTokenMessage, plaintextSecretMessage } from './support/expected.ts';
import { describeResult } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pick,
  podTemplateAnnotations,
  redisWithPlaintextPassword,
  secretValue,
  SIDECAR_ANNOTATION_KEYS,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'audit', guard: { mode: 'audit' }, namespaces: { app: {} } });
const PASSWORD = secretValue();
const WEBHOOK_NAMES = new Set<string>(Object.values(WEBHOOK));

/** The audit annotations whose key mentions dapr-guard (the webhook names all do). */
function daprGuardAnnotations(annotations: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => key.includes('dapr-guard')));
}

describe('audit mode: nothing blocks, nothing warns, the audit log records', { timeout: 240_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'a Component with a plaintext password is created as written, without a warning',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'component.dapr.io/statestore created\n');
      assert.equal(result.stderr, '');
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'statestore']), true);
      const review = (await scenario.guard.reviews({ name: 'statestore', namespace }))[0];
      assert.deepEqual(
        [review?.decision, review?.mode, review?.rules],
        ['allowed', 'audit', ['component-plaintext-secrets']],
      );
    }),
  );

  test(
    'a Dapr-enabled Deployment is created without a warning and without the sidecar annotations (no patch in audit mode)',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(deployment('orders', namespace, daprApp('orders')));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/orders created\n');
      assert.equal(result.stderr, '');
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
      assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {});
      const mutation = (await scenario.guard.reviews({ name: 'orders', namespace })).find(
        (review) => review.endpoint === 'mutate',
      );
      assert.deepEqual(
        [mutation?.decision, mutation?.mutated, mutation?.wouldMutate],
        ['allowed', [], ['sidecar-resources']],
      );
    }),
  );

  test(
    "the API server's audit log holds dapr-guard's findings under <webhook name>/<rule-id>",
    scenario.check(async (t) => {
      const auditLog = scenario.cluster.auditLog;
      if (auditLog === null) {
        t.skip('the audit log of this cluster is not readable here: set E2E_AUDIT_LOG (see test/e2e/README.md)');
        return;
      }
      const namespace = scenario.namespace('app');
      const component = await auditEventOf(auditLog, {
        verb: 'create',
        resource: 'components',
        namespace,
        name: 'statestore',
      });
      assert.equal(component.event.responseStatus?.code, 201);
      assert.deepEqual(daprGuardAnnotations(component.event.annotations), {
        [`${WEBHOOK.daprResources}/component-plaintext-secrets`]: plaintextSecretMessage('statestore', 'redisPassword'),
      });
      assert.equal(component.line.includes(PASSWORD), false, 'the password is in the audit log');

      const orders = await auditEventOf(auditLog, {
        verb: 'create',
        resource: 'deployments',
        namespace,
        name: 'orders',
      });
      assert.equal(orders.event.responseStatus?.code, 201);
      const annotations = daprGuardAnnotations(orders.event.annotations);
      assert.deepEqual(annotations, {
        [`${WEBHOOK.mutate}/sidecar-resources`]:
          'would set dapr.io/sidecar-cpu-request=100m, dapr.io/sidecar-cpu-limit=4, dapr.io/sidecar-memory-request=250Mi, dapr.io/sidecar-memory-limit=4000Mi',
        [`${WEBHOOK.workloads}/api-token`]: apiTokenMessage('Deployment', 'orders'),
      });
      for (const key of Object.keys(annotations)) {
        const [webhook, ruleId, ...rest] = key.split('/');
        assert.ok(
          WEBHOOK_NAMES.has(webhook ?? '') && ruleId !== undefined && rest.length === 0,
          `audit annotation key ${key} is not <webhook name>/<rule-id>`,
        );
      }
      // The API server's own record of the call: dapr-guard answered without a patch.
      const calls = Object.entries(orders.event.annotations ?? {})
        .filter(([key]) => key.startsWith('mutation.webhook.admission.k8s.io/'))
        .map(([, value]) => JSON.parse(value) as { webhook?: string; mutated?: boolean });
      assert.deepEqual(
        calls.filter((call) => call.webhook === WEBHOOK.mutate).map((call) => call.mutated),
        [false],
      );
    }),
  );
});
