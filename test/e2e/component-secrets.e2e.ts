/**
 * component-plaintext-secrets end to end: a Component with a plaintext password is refused by the
 * API server with dapr-guard's message (and the value appears nowhere), with secretKeyRef it is
 * created; the same through `kubectl apply --dry-run=server`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { deniedCreateLine, lines, plaintextSecretMessage } from './support/expected.ts';
import { describeResult } from './support/kubectl.ts';
import { redisWithPlaintextPassword, redisWithSecretKeyRef, secretValue } from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'secrets', guard: { mode: 'enforce' }, namespaces: { app: {} } });
const PASSWORD = secretValue();
const DENIAL = deniedCreateLine(
  WEBHOOK.daprResources,
  'component-plaintext-secrets',
  plaintextSecretMessage('statestore', 'redisPassword'),
);

interface StoredComponent {
  readonly spec: { readonly metadata: readonly Record<string, unknown>[] };
}

describe('component-plaintext-secrets: kubectl apply of Dapr Components', { timeout: 240_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'a plaintext password is refused with the rule message; the value is in no output and nothing is stored',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));

      assert.equal(result.code, 1, describeResult('kubectl apply', result));
      assert.equal(result.stdout, '');
      assert.deepEqual(lines(result.stderr), [DENIAL]);
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'statestore']), false);
      const reviews = await scenario.guard.reviews({ name: 'statestore', namespace });
      assert.deepEqual(
        reviews.map((review) => [
          review.endpoint,
          review.kind,
          review.operation,
          review.dryRun,
          review.decision,
          review.rules,
        ]),
        [['validate', 'dapr.io/v1alpha1/Component', 'CREATE', false, 'denied', ['component-plaintext-secrets']]],
      );
      assert.equal(
        readFileSync(scenario.guard.logFile, 'utf8').includes(PASSWORD),
        false,
        'the password is in dapr-guard log',
      );
    }),
  );

  test(
    'with secretKeyRef the Component is created and stored as written',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithSecretKeyRef('statestore', namespace));

      assert.equal(result.code, 0, describeResult('kubectl apply', result));
      assert.equal(result.stdout, 'component.dapr.io/statestore created\n');
      assert.equal(result.stderr, '');
      const stored = await scenario.kubectl.getJson<StoredComponent>([
        '-n',
        namespace,
        'get',
        'component',
        'statestore',
      ]);
      assert.deepEqual(stored.spec.metadata, [
        { name: 'redisHost', value: 'redis-master:6379' },
        { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'redis-password' } },
      ]);
    }),
  );

  test(
    'UPDATE to a plaintext password is refused and the stored Component keeps its secretKeyRef',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));

      assert.equal(result.code, 1, describeResult('kubectl apply', result));
      // kubectl itself prints the patch it sent (with the value) after "error when applying patch";
      // what dapr-guard said is the last line, and it does not quote the value.
      const denial = lines(result.stderr).find((line) => line.includes('denied the request'));
      assert.equal(
        denial?.replace(/^.*?admission webhook/, 'admission webhook'),
        `admission webhook "${WEBHOOK.daprResources}" denied the request: [component-plaintext-secrets] ${plaintextSecretMessage('statestore', 'redisPassword')}`,
      );
      const stored = await scenario.kubectl.getJson<StoredComponent>([
        '-n',
        namespace,
        'get',
        'component',
        'statestore',
      ]);
      assert.deepEqual(stored.spec.metadata[1], {
        name: 'redisPassword',
        secretKeyRef: { name: 'redis', key: 'redis-password' },
      });
      const update = (await scenario.guard.reviews({ name: 'statestore', namespace })).find(
        (review) => review.operation === 'UPDATE',
      );
      assert.deepEqual([update?.decision, update?.rules], ['denied', ['component-plaintext-secrets']]);
    }),
  );

  test(
    'kubectl apply --dry-run=server: the plaintext password is refused the same way',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(
        redisWithPlaintextPassword('statestore-preview', namespace, PASSWORD),
        ['--dry-run=server'],
      );

      assert.equal(result.code, 1, describeResult('kubectl apply --dry-run=server', result));
      assert.equal(result.stdout, '');
      assert.deepEqual(lines(result.stderr), [
        deniedCreateLine(
          WEBHOOK.daprResources,
          'component-plaintext-secrets',
          plaintextSecretMessage('statestore-preview', 'redisPassword'),
        ),
      ]);
      const reviews = await scenario.guard.reviews({ name: 'statestore-preview', namespace });
      assert.deepEqual(
        reviews.map((review) => [review.dryRun, review.decision]),
        [[true, 'denied']],
      );
    }),
  );

  test(
    'kubectl apply --dry-run=server: with secretKeyRef it passes and nothing is stored',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.apply(redisWithSecretKeyRef('statestore-preview', namespace), [
        '--dry-run=server',
      ]);

      assert.equal(result.code, 0, describeResult('kubectl apply --dry-run=server', result));
      assert.equal(result.stdout, 'component.dapr.io/statestore-preview created (server dry run)\n');
      assert.equal(result.stderr, '');
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'statestore-preview']), false);
      const reviews = await scenario.guard.reviews({ name: 'statestore-preview', namespace });
      assert.deepEqual(
        reviews.map((review) => [review.dryRun, review.decision]),
        [
          [true, 'denied'],
          [true, 'allowed'],
        ],
      );
    }),
  );
});
