/**
 * control-plane-namespace end to end, with the Dapr Helm chart's own output
 * (test/fixtures/dapr-manifests/rendered): the install rendered into `default` is refused object by
 * object, each by the chart's webhook entry for its kind; the install rendered into `dapr-system`
 * is accepted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { parseManifests } from '../support/helm.ts';
import { DAPR_MANIFESTS, serves } from './support/cluster.ts';
import {
  controlPlaneBindingMessage,
  controlPlaneInDefaultMessage,
  deniedCreateLine,
  lines,
  warningLine,
} from './support/expected.ts';
import { describeResult, toManifest } from './support/kubectl.ts';
import { namespaceObject, resourceOf } from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'control-plane', guard: { mode: 'enforce' } });
const RULE = 'control-plane-namespace';
const DAPR_SYSTEM = 'dapr-system';

type Outcome = { readonly refusedBy: string; readonly message: string } | { readonly accepted: string };

const inDefault = (webhook: string, kind: string, name: string): Outcome => ({
  refusedBy: webhook,
  message: controlPlaneInDefaultMessage(kind, name),
});
const binding = (name: string, serviceAccount: string): Outcome => ({
  refusedBy: WEBHOOK.cluster,
  message: controlPlaneBindingMessage(name, serviceAccount),
});

/** Every object of rendered/default-ns.yaml and what must happen to it, in file order. */
const DEFAULT_NS_EXPECTED: ReadonlyArray<readonly [string, string, Outcome]> = [
  [
    'PodDisruptionBudget',
    'dapr-scheduler-server-disruption-budget',
    inDefault(WEBHOOK.controlPlane, 'PodDisruptionBudget', 'dapr-scheduler-server-disruption-budget'),
  ],
  ...['dapr-injector', 'dapr-operator', 'dapr-placement', 'dapr-scheduler', 'dapr-sentry'].map(
    (name) => ['ServiceAccount', name, inDefault(WEBHOOK.controlPlane, 'ServiceAccount', name)] as const,
  ),
  ['Secret', 'dapr-trust-bundle', inDefault(WEBHOOK.controlPlane, 'Secret', 'dapr-trust-bundle')],
  ['ConfigMap', 'dapr-trust-bundle', inDefault(WEBHOOK.controlPlane, 'ConfigMap', 'dapr-trust-bundle')],
  ...['dapr-injector', 'dapr-operator-admin', 'dapr-placement', 'dapr-scheduler', 'dapr-sentry'].map(
    (name) =>
      [
        'ClusterRole',
        name,
        { accepted: 'no webhook rule covers ClusterRoles (they grant nothing without a binding)' },
      ] as const,
  ),
  ['ClusterRoleBinding', 'dapr-injector', binding('dapr-injector', 'dapr-injector')],
  ['ClusterRoleBinding', 'dapr-operator-admin', binding('dapr-operator-admin', 'dapr-operator')],
  ['ClusterRoleBinding', 'dapr-placement', binding('dapr-placement', 'dapr-placement')],
  ['ClusterRoleBinding', 'dapr-scheduler', binding('dapr-scheduler', 'dapr-scheduler')],
  ['ClusterRoleBinding', 'dapr-sentry', binding('dapr-sentry', 'dapr-sentry')],
  ['Role', 'dapr-injector', inDefault(WEBHOOK.controlPlane, 'Role', 'dapr-injector')],
  ['Role', 'dapr-operator', inDefault(WEBHOOK.controlPlane, 'Role', 'dapr-operator')],
  [
    'Role',
    'secret-reader',
    { accepted: 'the Dapr chart puts it in default in every install (dapr_rbac.secretReader)' },
  ],
  ['Role', 'dapr-sentry', inDefault(WEBHOOK.controlPlane, 'Role', 'dapr-sentry')],
  ['RoleBinding', 'dapr-injector', inDefault(WEBHOOK.controlPlane, 'RoleBinding', 'dapr-injector')],
  ['RoleBinding', 'dapr-operator', inDefault(WEBHOOK.controlPlane, 'RoleBinding', 'dapr-operator')],
  [
    'RoleBinding',
    'dapr-secret-reader',
    { accepted: 'the Dapr chart puts it in default in every install (dapr_rbac.secretReader)' },
  ],
  ['RoleBinding', 'dapr-sentry', inDefault(WEBHOOK.controlPlane, 'RoleBinding', 'dapr-sentry')],
  ...[
    'dapr-api',
    'dapr-webhook',
    'dapr-placement-server',
    'dapr-scheduler-server-a',
    'dapr-scheduler-server',
    'dapr-sentry',
    'dapr-sidecar-injector',
  ].map((name) => ['Service', name, inDefault(WEBHOOK.controlPlane, 'Service', name)] as const),
  ...['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector'].map(
    (name) => ['Deployment', name, inDefault(WEBHOOK.workloads, 'Deployment', name)] as const,
  ),
  ...['dapr-placement-server', 'dapr-scheduler-server'].map(
    (name) => ['StatefulSet', name, inDefault(WEBHOOK.workloads, 'StatefulSet', name)] as const,
  ),
  ['Configuration', 'daprsystem', inDefault(WEBHOOK.daprResources, 'Configuration', 'daprsystem')],
  [
    'MutatingWebhookConfiguration',
    'dapr-sidecar-injector',
    { accepted: 'the API server never sends webhook configurations to webhooks' },
  ],
];

/** The objects of a rendering that this API server can take: Kubernetes 1.20 has no policy/v1 (PodDisruptionBudget). */
function rendering(file: string): KubeObject[] {
  const objects = parseManifests(readFileSync(join(DAPR_MANIFESTS, 'rendered', file), 'utf8'));
  return objects.filter((object) => serves(scenario.cluster, object.apiVersion ?? ''));
}

function expectedFor(object: KubeObject): Outcome {
  const entry = DEFAULT_NS_EXPECTED.find(([kind, name]) => kind === object.kind && name === object.metadata?.name);
  if (entry === undefined) throw new Error(`no expectation for ${object.kind ?? ''} ${object.metadata?.name ?? ''}`);
  return entry[2];
}

function describeObject(object: KubeObject): string {
  return `${object.kind ?? ''} ${object.metadata?.namespace ?? '(cluster)'}/${object.metadata?.name ?? ''}`;
}

describe('control-plane-namespace: the Dapr install rendered by its Helm chart', { timeout: 300_000 }, () => {
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'rendered into default: kubectl apply refuses every control-plane object, each with the rule message of its webhook entry',
    scenario.check(async () => {
      const objects = rendering('default-ns.yaml');
      const expectedNames = DEFAULT_NS_EXPECTED.filter(
        ([kind]) => kind !== 'PodDisruptionBudget' || serves(scenario.cluster, 'policy/v1'),
      ).map(([kind, name]) => `${kind}/${name}`);
      assert.deepEqual(
        objects.map((object) => `${object.kind ?? ''}/${object.metadata?.name ?? ''}`),
        expectedNames,
        'the rendering is the one described',
      );
      await scenario.waitUntilReviewed('default');

      const refused: KubeObject[] = [];
      for (const object of objects) {
        const outcome = expectedFor(object);
        const what = describeObject(object);
        if ('refusedBy' in outcome) {
          const result = await scenario.kubectl.apply(object);
          assert.equal(result.code, 1, describeResult(`kubectl apply of ${what}`, result));
          assert.equal(result.stdout, '', what);
          const errors = lines(result.stderr).filter((line) => !line.startsWith('Warning: '));
          assert.deepEqual(errors, [deniedCreateLine(outcome.refusedBy, RULE, outcome.message)], what);
          refused.push(object);
        } else {
          // Accepted objects only through a server-side dry run: installing a second, dead Dapr
          // injector webhook would slow every later Pod create in the cluster.
          const result = await scenario.kubectl.apply(object, ['--dry-run=server']);
          assert.equal(
            result.code,
            0,
            describeResult(`kubectl apply --dry-run=server of ${what} (${outcome.accepted})`, result),
          );
          assert.equal(result.stdout, `${nameOf(object)} created (server dry run)\n`, what);
          assert.doesNotMatch(result.stderr, /\[control-plane-namespace\]/, what);
        }
      }
      const stored = await scenario.kubectl.stored(refused);
      if (stored.length > 0) scenario.deleteLater(refused);
      assert.deepEqual(stored, [], 'refused objects were stored');
      // Reviewed and allowed, not merely unselected: the control-plane entry selects default.
      for (const name of ['secret-reader', 'dapr-secret-reader']) {
        const reviews = await scenario.guard.reviews({ name, namespace: 'default' });
        assert.deepEqual(
          reviews.map((review) => [review.endpoint, review.dryRun, review.decision]),
          [['validate', true, 'allowed']],
          name,
        );
      }
    }),
  );

  test(
    'rendered into default, as one kubectl apply --dry-run=server -f: exit code 1, one denial per control-plane object',
    scenario.check(async () => {
      const objects = rendering('default-ns.yaml');
      const refused = objects.filter((object) => 'refusedBy' in expectedFor(object));
      const result = await scenario.kubectl.apply(objects, ['--dry-run=server']);

      assert.equal(result.code, 1, describeResult('kubectl apply --dry-run=server', result));
      const denials = lines(result.stderr).filter((line) => line.includes(`denied the request: [${RULE}]`));
      assert.equal(denials.length, refused.length, describeResult('kubectl apply --dry-run=server', result));
      assert.equal(
        lines(result.stdout).filter((line) => line.endsWith(' created (server dry run)')).length,
        objects.length - refused.length,
      );
    }),
  );

  test(
    'rendered into dapr-system: every object is accepted and stored (advice as warnings only)',
    scenario.check(async () => {
      const objects = rendering('dapr-system.yaml');
      const local = scenario.cluster.source === 'local-harness';
      if (!(await scenario.kubectl.exists(['namespace', DAPR_SYSTEM]))) {
        await scenario.kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaceObject(DAPR_SYSTEM)) });
        scenario.cleanUpLater(['delete', 'namespace', DAPR_SYSTEM, '--ignore-not-found', '--wait=false']);
      }
      await scenario.waitUntilReviewed(DAPR_SYSTEM);
      // The local harness is thrown away: install for real, except Dapr's injector webhook, which
      // would send every later Pod create to a Service that does not run here (the API server never
      // sends webhook configurations to webhooks, so a dry run shows the same). An existing cluster
      // may run Dapr: dry run only.
      const installed = local ? objects.filter((object) => object.kind !== 'MutatingWebhookConfiguration') : [];
      const previewed = objects.filter((object) => !installed.includes(object));
      scenario.deleteLater(installed);
      const install = await scenario.kubectl.apply(installed);
      const preview = await scenario.kubectl.apply(previewed, ['--dry-run=server']);

      assert.equal(install.code, 0, describeResult('kubectl apply', install));
      assert.equal(preview.code, 0, describeResult('kubectl apply --dry-run=server', preview));
      assert.deepEqual(
        lines(install.stdout),
        installed.map((object) => `${nameOf(object)} created`),
      );
      assert.deepEqual(
        lines(preview.stdout),
        previewed.map((object) => `${nameOf(object)} created (server dry run)`),
      );
      const result = { stderr: `${install.stderr}${preview.stderr}` };
      assert.doesNotMatch(result.stderr, /\[control-plane-namespace\]/);
      assert.ok(
        lines(result.stderr).includes(
          warningLine(
            'control-plane-resources',
            'Deployment "dapr-operator" runs 1 replica — run 3 for high availability: upgrade Dapr with --set global.ha.enabled=true',
          ),
        ),
        result.stderr,
      );
      for (const [kind, name] of [
        ['apps/v1/Deployment', 'dapr-operator'],
        ['apps/v1/StatefulSet', 'dapr-placement-server'],
        ['dapr.io/v1alpha1/Configuration', 'daprsystem'],
      ] as const) {
        const reviews = (await scenario.guard.reviews({ name, namespace: DAPR_SYSTEM })).filter(
          (review) => review.endpoint === 'validate' && review.kind === kind,
        );
        assert.deepEqual(
          reviews.map((review) => review.decision),
          ['allowed'],
          `${kind} ${name} was reviewed and allowed`,
        );
      }
      assert.deepEqual(await scenario.kubectl.stored(installed), installed.map(nameOf));
    }),
  );
});

/** `serviceaccount/dapr-operator`, `deployment.apps/dapr-operator`: how kubectl names an object. */
function nameOf(object: KubeObject): string {
  return `${resourceOf(object)}/${object.metadata?.name ?? ''}`;
}
