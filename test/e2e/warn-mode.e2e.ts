/** `--mode warn` (and the chart rendered with `mode: warn`): kubectl prints Warning lines, the objects are created. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiTokenMessage, lines, plaintextSecretMessage, warningLine } from './support/expected.ts';
import { describeResult } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pick,
  podTemplateAnnotations,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  redisWithPlaintextPassword,
  secretValue,
  SIDECAR_ANNOTATION_KEYS,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { RELEASE, WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'warn', guard: { mode: 'warn' }, namespaces: { app: {} } });
const PASSWORD = secretValue();

interface WebhookConfiguration {
  readonly webhooks: readonly { readonly name: string; readonly failurePolicy: string }[];
}

describe('warn mode: violations become kubectl warnings', { timeout: 240_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'a Component with a plaintext password is created, and kubectl prints the rule message as a Warning',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'component.dapr.io/statestore created\n');
      assert.deepEqual(lines(result.stderr), [
        warningLine('component-plaintext-secrets', plaintextSecretMessage('statestore', 'redisPassword')),
      ]);
      assert.equal(`${result.stdout}${result.stderr}`.includes(PASSWORD), false);
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'statestore']), true);
      const review = (await scenario.guard.reviews({ name: 'statestore', namespace }))[0];
      assert.deepEqual(
        [review?.decision, review?.mode, review?.rules],
        ['allowed', 'warn', ['component-plaintext-secrets']],
      );
    }),
  );

  test(
    'a Deployment with an invalid sidecar value is created with a Warning; the missing sidecar annotations are still added, and a Warning says so',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(
        deployment('orders', namespace, daprApp('orders', { 'dapr.io/sidecar-cpu-limit': 'lots' })),
      );

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'deployment.apps/orders created\n');
      assert.deepEqual(lines(result.stderr), [
        // The mutating webhook answers first: what it added, then the validating webhook's findings.
        warningLine(
          'sidecar-resources',
          'added dapr.io/sidecar-cpu-request=100m, dapr.io/sidecar-memory-request=250Mi, dapr.io/sidecar-memory-limit=4000Mi',
        ),
        warningLine(
          'sidecar-resource-values',
          'dapr.io/sidecar-cpu-limit "lots" is not a Kubernetes quantity — use a value such as "4" or "500m"; Dapr ignores all four sidecar resource annotations when one is invalid',
        ),
        warningLine('api-token', apiTokenMessage('Deployment', 'orders')),
      ]);
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
      assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {
        ...PRODUCTION_SIDECAR_ANNOTATIONS,
        'dapr.io/sidecar-cpu-limit': 'lots',
      });
    }),
  );

  test(
    "the stored registration is the chart's for mode warn: Dapr resources fail open too",
    scenario.check(async () => {
      const stored = await scenario.kubectl.getJson<WebhookConfiguration>([
        'get',
        'validatingwebhookconfiguration',
        `dapr-guard-${RELEASE.name}`,
      ]);
      const policies = Object.fromEntries(stored.webhooks.map((webhook) => [webhook.name, webhook.failurePolicy]));
      assert.equal(policies[WEBHOOK.daprResources], 'Ignore');
    }),
  );
});
