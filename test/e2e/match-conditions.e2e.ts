/**
 * What the API server does with the chart's configurations before dapr-guard sees a request: the
 * `matchConditions` (CEL, rendered from Kubernetes 1.28 on) are stored as rendered, objects without
 * any `dapr.io/` annotation never reach dapr-guard (its request counter says so), and Dapr-enabled
 * ones do, CronJobs (`batch/v1`) included. Server-side apply and server-side dry runs get the same
 * annotations as client-side apply.
 */
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { freePort } from '../support/process.ts';
import { hasMatchConditions } from './support/cluster.ts';
import { describeResult, toManifest } from './support/kubectl.ts';
import {
  daprApp,
  deployment,
  pick,
  pod,
  podTemplateAnnotations,
  PRODUCTION_SIDECAR_ANNOTATIONS,
  SIDECAR_ANNOTATION_KEYS,
} from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';
import { renderRegistration } from './support/webhooks.ts';

const METRICS_PORT = await freePort();
const scenario = new Scenario({
  name: 'conditions',
  guard: {
    mode: 'enforce',
    extraArgs: ['--metrics-enabled', 'true', '--metrics-host', '127.0.0.1', '--metrics-port', String(METRICS_PORT)],
  },
  namespaces: { app: {} },
});

interface WebhookEntry {
  readonly name: string;
  readonly matchConditions?: readonly { readonly name: string; readonly expression: string }[];
}

interface ObjectList {
  readonly items: KubeObject[];
}

/** dapr_guard_admission_reviews_total over all labels: every review dapr-guard answered. */
async function reviewsTotal(): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    const request = httpGet({ host: '127.0.0.1', port: METRICS_PORT, path: '/metrics', timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
  });
  return text
    .split('\n')
    .filter((line) => line.startsWith('dapr_guard_admission_reviews_total'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function entries(object: KubeObject): WebhookEntry[] {
  const webhooks = object['webhooks'];
  return Array.isArray(webhooks) ? (webhooks as WebhookEntry[]) : [];
}

async function podsOf(namespace: string, name: string): Promise<KubeObject[]> {
  return eventually(
    async () => {
      const list = await scenario.kubectl.getJson<ObjectList>(['-n', namespace, 'get', 'pods', '-l', `app=${name}`]);
      return list.items.length === 1 ? list.items : undefined;
    },
    { description: `the ReplicaSet controller to create the Pod of ${namespace}/${name}`, timeoutMs: 90_000 },
  );
}

function cronJob(name: string, namespace: string, podAnnotations: Readonly<Record<string, string>>): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: {
        spec: {
          template: {
            metadata: { annotations: podAnnotations },
            spec: {
              restartPolicy: 'OnFailure',
              containers: [{ name: 'report', image: 'ghcr.io/example/report:1.0.0' }],
            },
          },
        },
      },
    },
  };
}

describe('matchConditions, and what reaches dapr-guard', { timeout: 300_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    "the API server stores the chart's matchConditions exactly as rendered (none below 1.28)",
    scenario.check(async () => {
      const rendered = renderRegistration(scenario.cluster, scenario.guard, 'enforce');
      for (const object of rendered.objects) {
        const stored = await scenario.kubectl.getJson([
          'get',
          (object.kind ?? '').toLowerCase(),
          object.metadata?.name ?? '',
        ]);
        const conditions = (entry: WebhookEntry): [string, WebhookEntry['matchConditions']] => [
          entry.name,
          entry.matchConditions ?? [],
        ];
        assert.deepEqual(
          entries(stored).map(conditions),
          entries(object).map(conditions),
          `${object.kind ?? ''} ${object.metadata?.name ?? ''}`,
        );
      }
      const counted = entries(rendered.objects[0] ?? {})
        .concat(entries(rendered.objects[1] ?? {}))
        .filter((entry) => (entry.matchConditions ?? []).length > 0);
      assert.equal(counted.length > 0, hasMatchConditions(scenario.cluster), 'entries with matchConditions');
    }),
  );

  test(
    "a Deployment and a Pod without dapr.io/ annotations do not move dapr-guard's request counter from 1.28 on; a Dapr-enabled Deployment does",
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const before = await reviewsTotal();
      await scenario.kubectl.ok(['create', '-f', '-'], {
        input: toManifest([deployment('plain', namespace, {}), pod('plain-pod', namespace, {})]),
      });
      await podsOf(namespace, 'plain');
      const afterPlain = await reviewsTotal();
      if (hasMatchConditions(scenario.cluster))
        assert.equal(afterPlain - before, 0, 'reviews of objects without dapr.io/ annotations');
      else
        assert.ok(
          afterPlain - before >= 3,
          `below 1.28 every workload reaches dapr-guard (${afterPlain - before} reviews)`,
        );

      await scenario.kubectl.ok(['create', '-f', '-'], {
        input: toManifest(deployment('orders', namespace, daprApp('orders'))),
      });
      await podsOf(namespace, 'orders');
      // Deployment (mutate, validate), ReplicaSet (validate), Pod (mutate, validate); counted as they are answered.
      await eventually(async () => ((await reviewsTotal()) - afterPlain >= 5 ? true : undefined), {
        description:
          "dapr-guard's request counter to count the Dapr-enabled Deployment, its ReplicaSet and its Pod (5 reviews)",
      });
    }),
  );

  test(
    'a CronJob (batch/v1) with dapr.io/enabled in its job template gets the sidecar annotations',
    scenario.check(async (t) => {
      const [, minor = 0] = scenario.cluster.serverVersion.split('.').map(Number);
      if (minor < 21) return void t.skip('batch/v1 CronJob is served from Kubernetes 1.21');
      const namespace = scenario.namespace('app');
      const result = await scenario.kubectl.create(cronJob('nightly', namespace, daprApp('nightly')));
      assert.equal(result.code, 0, describeResult('kubectl create', result));
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'cronjob', 'nightly']);
      const spec = stored['spec'] as
        { jobTemplate?: { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } } | undefined;
      assert.deepEqual(
        pick(spec?.jobTemplate?.spec?.template?.metadata?.annotations ?? {}, SIDECAR_ANNOTATION_KEYS),
        PRODUCTION_SIDECAR_ANNOTATIONS,
      );
    }),
  );

  test(
    'kubectl apply --server-side stores the same sidecar annotations as client-side apply; create --dry-run=server shows them and stores nothing',
    scenario.check(async () => {
      const namespace = scenario.namespace('app');
      const applied = await scenario.kubectl.apply(deployment('ssa', namespace, daprApp('ssa')), ['--server-side']);
      assert.equal(applied.code, 0, describeResult('kubectl apply --server-side', applied));
      assert.equal(applied.stdout, 'deployment.apps/ssa serverside-applied\n');
      const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'deployment', 'ssa']);
      assert.deepEqual(pick(podTemplateAnnotations(stored), SIDECAR_ANNOTATION_KEYS), PRODUCTION_SIDECAR_ANNOTATIONS);

      const dryRun = await scenario.kubectl.create(deployment('dry', namespace, daprApp('dry')), [
        '--dry-run=server',
        '-o',
        'json',
      ]);
      assert.equal(dryRun.code, 0, describeResult('kubectl create --dry-run=server', dryRun));
      assert.deepEqual(
        pick(podTemplateAnnotations(JSON.parse(dryRun.stdout) as KubeObject), SIDECAR_ANNOTATION_KEYS),
        PRODUCTION_SIDECAR_ANNOTATIONS,
      );
      assert.equal(await scenario.kubectl.exists(['-n', namespace, 'deployment', 'dry']), false);
    }),
  );
});
