/**
 * Per-namespace modes: dapr-guard runs with `--mode enforce --namespace-modes kubernetes` and
 * watches Namespaces through $KUBECONFIG; a namespace labelled `dapr-guard.io/mode: audit` gets
 * audit behaviour while the rest of the cluster is enforced, and label changes apply while it runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Mode } from '../../src/admission/mode.ts';
import { auditEventOf } from './support/audit-log.ts';
import { deniedCreateLine, lines, plaintextSecretMessage, warningLine } from './support/expected.ts';
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
import { eventually } from './support/wait.ts';
import { WEBHOOK } from './support/webhooks.ts';

const MODE_LABEL = 'dapr-guard.io/mode';
const scenario: Scenario = new Scenario({
  name: 'ns-modes',
  guard: { mode: 'enforce', namespaceModes: true },
  namespaces: { audited: { [MODE_LABEL]: 'audit' }, enforced: {} },
  ready: (): Promise<void> => waitForMode(scenario.namespace('audited'), 'audit'),
});
const PASSWORD = secretValue();
let probes = 0;

/** Waits until dapr-guard reviews in `namespace` with this mode (its namespace watch is asynchronous). */
async function waitForMode(namespace: string, mode: Mode): Promise<void> {
  await eventually(
    async () => {
      probes += 1;
      const name = `mode-probe-${probes}`;
      await scenario.kubectl.apply(redisWithPlaintextPassword(name, namespace, 'not-a-real-secret'), [
        '--dry-run=server',
      ]);
      return (await scenario.guard.reviews({ name, namespace }))[0]?.mode === mode ? true : undefined;
    },
    { description: `dapr-guard to apply mode ${mode} in namespace ${namespace}` },
  );
}

describe(
  'namespace modes: dapr-guard.io/mode=audit on one namespace, enforce everywhere else',
  { timeout: 240_000 },
  () => {
    before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
    after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

    test(
      'in the labelled namespace: a plaintext password and a Dapr Deployment are admitted as written, without warnings',
      scenario.check(async () => {
        const namespace = scenario.namespace('audited');
        const component = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));
        assert.equal(component.code, 0, describeResult('kubectl apply', component));
        assert.equal(component.stdout, 'component.dapr.io/statestore created\n');
        assert.equal(component.stderr, '');

        const workload = await scenario.kubectl.apply(deployment('orders', namespace, daprApp('orders')));
        assert.equal(workload.code, 0, describeResult('kubectl apply', workload));
        assert.equal(workload.stderr, '');
        const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
        assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {});

        const modes = (await scenario.guard.reviews({ namespace })).filter((review) =>
          ['statestore', 'orders'].includes(review.name),
        );
        assert.deepEqual([...new Set(modes.map((review) => review.mode))], ['audit']);
        if (scenario.cluster.auditLog !== null) {
          const audit = await auditEventOf(scenario.cluster.auditLog, {
            verb: 'create',
            resource: 'components',
            namespace,
            name: 'statestore',
          });
          assert.equal(
            audit.event.annotations?.[`${WEBHOOK.daprResources}/component-plaintext-secrets`],
            plaintextSecretMessage('statestore', 'redisPassword'),
          );
        }
      }),
    );

    test(
      'in an unlabelled namespace at the same time: the plaintext password is refused and the Deployment is mutated',
      scenario.check(async () => {
        const namespace = scenario.namespace('enforced');
        const component = await scenario.kubectl.apply(redisWithPlaintextPassword('statestore', namespace, PASSWORD));
        assert.equal(component.code, 1, describeResult('kubectl apply', component));
        assert.deepEqual(lines(component.stderr), [
          deniedCreateLine(
            WEBHOOK.daprResources,
            'component-plaintext-secrets',
            plaintextSecretMessage('statestore', 'redisPassword'),
          ),
        ]);
        assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'statestore']), false);

        const workload = await scenario.kubectl.apply(deployment('orders', namespace, daprApp('orders')));
        assert.equal(workload.code, 0, describeResult('kubectl apply', workload));
        const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'orders']);
        assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), PRODUCTION_SIDECAR_ANNOTATIONS);
        const modes = (await scenario.guard.reviews({ namespace })).filter((review) =>
          ['statestore', 'orders'].includes(review.name),
        );
        assert.deepEqual([...new Set(modes.map((review) => review.mode))], ['enforce']);
      }),
    );

    test(
      'label changes apply while dapr-guard runs: warn after relabelling, enforce once the label is removed',
      scenario.check(async () => {
        const namespace = scenario.namespace('audited');
        await scenario.kubectl.ok(['label', 'namespace', namespace, `${MODE_LABEL}=warn`, '--overwrite']);
        await waitForMode(namespace, 'warn');
        const warned = await scenario.kubectl.apply(redisWithPlaintextPassword('warned', namespace, PASSWORD));
        assert.equal(warned.code, 0, describeResult('kubectl apply', warned));
        assert.deepEqual(lines(warned.stderr), [
          warningLine('component-plaintext-secrets', plaintextSecretMessage('warned', 'redisPassword')),
        ]);

        await scenario.kubectl.ok(['label', 'namespace', namespace, `${MODE_LABEL}-`]);
        await waitForMode(namespace, 'enforce');
        const refused = await scenario.kubectl.apply(redisWithPlaintextPassword('refused', namespace, PASSWORD));
        assert.equal(refused.code, 1, describeResult('kubectl apply', refused));
        assert.deepEqual(lines(refused.stderr), [
          deniedCreateLine(
            WEBHOOK.daprResources,
            'component-plaintext-secrets',
            plaintextSecretMessage('refused', 'redisPassword'),
          ),
        ]);
      }),
    );
  },
);
