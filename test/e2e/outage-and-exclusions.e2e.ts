/**
 * What the chart's registration promises around dapr-guard: kube-system and namespaces labelled
 * dapr-guard.io/ignore never reach it, and while it is down workloads keep being admitted
 * (failurePolicy Ignore: no lockout) while Dapr resources fail closed in enforce mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { describeResult } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pick,
  podTemplateAnnotations,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  randomSuffix,
  redisWithPlaintextPassword,
  redisWithSecretKeyRef,
  secretValue,
  SIDECAR_ANNOTATION_KEYS,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';
import { RELEASE, WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'outage', guard: { mode: 'enforce' }, namespaces: { app: {} } });
const CONFIGURATION = `dapr-guard-${RELEASE.name}`;

interface StoredWebhook {
  readonly name: string;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  readonly sideEffects: string;
  readonly clientConfig: { readonly url?: string; readonly service?: unknown; readonly caBundle?: string };
  readonly namespaceSelector?: unknown;
  readonly rules: unknown;
}

interface WebhookConfiguration {
  readonly webhooks: readonly StoredWebhook[];
}

interface ObjectList {
  readonly items: KubeObject[];
}

/** Applies a Dapr Deployment and a plaintext Component in `namespace`; both must be created as written. */
async function applyUnreviewed(namespace: string, name: string): Promise<void> {
  const workload = await scenario.kubectl.apply(deployment(name, namespace, daprApp(name)));
  assert.equal(workload.code, 0, describeResult(`kubectl apply of Deployment ${namespace}/${name}`, workload));
  assert.equal(workload.stderr, '', 'no dapr-guard warning');
  const component = await scenario.kubectl.apply(redisWithPlaintextPassword(name, namespace, secretValue()));
  assert.equal(component.code, 0, describeResult(`kubectl apply of Component ${namespace}/${name}`, component));
  const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', name]);
  assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {}, 'the Deployment was not mutated');
  // The Namespace itself is reviewed (namespace-labels guards its labels); nothing in it is.
  const reviewed = (await scenario.guard.reviews({ namespace })).filter((line) => line.kind !== 'core/v1/Namespace');
  assert.deepEqual(reviewed, [], `dapr-guard reviewed objects in ${namespace}`);
}

/** Proves dapr-guard is in the path right now: a Dapr Deployment in the scenario namespace gets the annotations. */
async function assertWebhookInPath(name: string): Promise<void> {
  const namespace = scenario.namespace('app');
  const result = await scenario.kubectl.apply(deployment(name, namespace, daprApp(name)), [
    '--dry-run=server',
    '-o',
    'json',
  ]);
  assert.equal(result.code, 0, describeResult('kubectl apply --dry-run=server', result));
  assert.deepEqual(
    pick(podTemplateAnnotations(JSON.parse(result.stdout) as KubeObject), SIDECAR_ANNOTATION_KEYS),
    PRODUCTION_SIDECAR_ANNOTATIONS,
  );
}

describe(
  'exclusions and outage: what never reaches dapr-guard, and what happens while it is down',
  { timeout: 300_000 },
  () => {
    before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
    after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

    test(
      "the API server stores the chart's registration: URL and CA of this dapr-guard, failurePolicy per entry, kube-system excluded",
      scenario.check(async () => {
        const mutating = await scenario.kubectl.getJson<WebhookConfiguration>([
          'get',
          'mutatingwebhookconfiguration',
          CONFIGURATION,
        ]);
        const validating = await scenario.kubectl.getJson<WebhookConfiguration>([
          'get',
          'validatingwebhookconfiguration',
          CONFIGURATION,
        ]);
        const webhooks = [...mutating.webhooks, ...validating.webhooks];
        assert.deepEqual(
          webhooks.map((webhook) => [
            webhook.name,
            webhook.failurePolicy,
            webhook.sideEffects,
            webhook.clientConfig.url,
          ]),
          [
            [WEBHOOK.mutate, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/mutate')],
            [WEBHOOK.workloads, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/validate')],
            [WEBHOOK.daprResources, 'Fail', 'None', scenario.guard.url(scenario.cluster, '/validate')],
            [WEBHOOK.controlPlane, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/validate')],
            [WEBHOOK.cluster, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/validate')],
            [WEBHOOK.trustBundle, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/validate')],
            [WEBHOOK.namespaceLabels, 'Ignore', 'None', scenario.guard.url(scenario.cluster, '/validate')],
          ],
        );
        for (const webhook of webhooks) {
          assert.equal(webhook.clientConfig.service, undefined, webhook.name);
          assert.equal(
            Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString(),
            scenario.guard.caPem,
            webhook.name,
          );
        }
        const workloads = validating.webhooks.find((webhook) => webhook.name === WEBHOOK.workloads);
        assert.deepEqual(workloads?.namespaceSelector, {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', RELEASE.namespace] },
            { key: 'dapr-guard.io/ignore', operator: 'DoesNotExist' },
          ],
        });
      }),
    );

    test(
      'objects in kube-system never reach dapr-guard',
      scenario.check(async () => {
        await assertWebhookInPath('in-path-1');
        const name = `e2e-outage-${randomSuffix()}`;
        scenario.deleteLater([deployment(name, 'kube-system', {}), redisWithSecretKeyRef(name, 'kube-system')]);
        await applyUnreviewed('kube-system', name);
      }),
    );

    test(
      'objects in a namespace labelled dapr-guard.io/ignore never reach dapr-guard',
      scenario.check(async () => {
        await assertWebhookInPath('in-path-2');
        const namespace = await scenario.createNamespace('ignored', { 'dapr-guard.io/ignore': 'true' });
        await applyUnreviewed(namespace, 'orders');
      }),
    );

    test(
      'with dapr-guard stopped, kubectl apply of workloads keeps working (failurePolicy Ignore), Dapr resources fail closed, deletes work',
      scenario.check(async () => {
        const namespace = scenario.namespace('app');
        await assertWebhookInPath('in-path-3');
        const kept = await scenario.kubectl.apply(redisWithSecretKeyRef('kept', namespace));
        assert.equal(kept.code, 0, describeResult('kubectl apply of Component kept', kept));

        const stopped = await scenario.guard.stop();
        assert.deepEqual(
          stopped,
          { code: 0, signal: null },
          `dapr-guard must exit 0 within its grace period after SIGTERM (SIGKILL: it hung; log ${scenario.guard.logFile})`,
        );

        const workload = await scenario.kubectl.apply(deployment('during-outage', namespace, daprApp('during-outage')));
        assert.equal(workload.code, 0, describeResult('kubectl apply during the outage', workload));
        assert.equal(workload.stdout, 'deployment.apps/during-outage created\n');
        const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'during-outage']);
        assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), {}, 'admitted unmutated');
        // Controllers are not locked out either: the ReplicaSet controller creates the Pod.
        await eventually(
          async () =>
            (await scenario.kubectl.getJson<ObjectList>(['-n', namespace, 'get', 'pods', '-l', 'app=during-outage']))
              .items.length === 1
              ? true
              : undefined,
          { description: `the Pod of ${namespace}/during-outage`, timeoutMs: 90_000 },
        );
        // The control-plane entry (ConfigMaps in default) fails open as well.
        const configMap = `e2e-outage-${randomSuffix()}`;
        scenario.cleanUpLater(['-n', 'default', 'delete', 'configmap', configMap, '--ignore-not-found']);
        const created = await scenario.kubectl.run([
          '-n',
          'default',
          'create',
          'configmap',
          configMap,
          '--from-literal=a=b',
        ]);
        assert.equal(created.code, 0, describeResult('kubectl create configmap in default during the outage', created));

        // Dapr resources: failurePolicy Fail in enforce mode, so a plaintext secret cannot slip in.
        const component = await scenario.kubectl.apply(
          redisWithPlaintextPassword('during-outage', namespace, secretValue()),
        );
        assert.equal(component.code, 1, describeResult('kubectl apply of a Component during the outage', component));
        assert.match(
          component.stderr,
          new RegExp(
            `^Error from server \\(InternalError\\): error when creating "STDIN": Internal error occurred: failed calling webhook "${WEBHOOK.daprResources.replace(/\./g, '\\.')}"`,
          ),
        );
        assert.equal(await scenario.kubectl.exists(['-n', namespace, 'component', 'during-outage']), false);
        // DELETE is never sent to dapr-guard: everything can be removed while it is down.
        const deleted = await scenario.kubectl.run(['-n', namespace, 'delete', 'component', 'kept']);
        assert.equal(deleted.code, 0, describeResult('kubectl delete during the outage', deleted));
        // kubectl 1.32 prints `… deleted`, kubectl 1.37 `… deleted from <namespace> namespace`.
        assert.match(
          deleted.stdout,
          new RegExp(`^component\\.dapr\\.io "kept" deleted( from ${namespace} namespace)?\\n$`),
        );
        assert.deepEqual(
          await scenario.guard.reviews({ name: 'during-outage' }),
          [],
          'a stopped dapr-guard reviewed something',
        );
      }),
    );
  },
);
