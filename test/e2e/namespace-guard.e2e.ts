/**
 * Who may opt out, on a real API server: a tenant (`alice`, group `tenants`) whose namespace-scoped
 * RoleBinding lets her edit her own Namespace object may not add, change or remove the
 * dapr-guard.io/ignore and dapr-guard.io/mode labels, neither through the webhook entry
 * namespace-labels.validate.dapr-guard.io nor — on clusters that serve it — through the chart's
 * ValidatingAdmissionPolicy, which keeps refusing while dapr-guard is down; and her
 * dapr-guard.io/exempt annotations do not count, while a cluster admin's (system:masters) do, also
 * when a later update by alice carries them unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { helmTemplate } from '../support/helm.ts';
import { hasMatchConditions } from './support/cluster.ts';
import { lines } from './support/expected.ts';
import { toManifest, type CommandResult } from './support/kubectl.ts';
import { daprApp, namespaceObject, pod, randomSuffix } from './support/objects.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { eventually } from './support/wait.ts';
import { RELEASE, WEBHOOK } from './support/webhooks.ts';

const scenario = new Scenario({ name: 'ns-guard', guard: { mode: 'enforce' }, namespaces: { 'team-a': {} } });
/** kubectl as the tenant: RBAC applies (the kubeconfig's own user is in system:masters). */
const ALICE = ['--as=alice', '--as-group=tenants'] as const;
const IGNORE = 'dapr-guard.io/ignore';
const MODE = 'dapr-guard.io/mode';
const ENTRY = WEBHOOK.namespaceLabels;
const WORKLOADS = 'workloads.validate.dapr-guard.io';
const POLICY = `dapr-guard-${RELEASE.name}-namespace-labels`;
const VAP_KIND = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
const TENANT_ROLE = `e2e-ns-guard-tenant-${randomSuffix()}`;
/** bob (group `platform`) may create Namespaces cluster-wide: the CREATE path, where oldObject is null. */
const CREATOR = ['--as=bob', '--as-group=platform'] as const;
const CREATOR_ROLE = `e2e-ns-guard-creator-${randomSuffix()}`;

/** The webhook's message for one label (src/policy/namespace-labels.ts). */
const labelMessage = (change: 'adding' | 'changing' | 'removing', label: string): string =>
  `[namespace-labels] ${change} the ${label} label of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it`;
/** The ValidatingAdmissionPolicy's message (charts/dapr-guard/templates/_helpers.tpl, dapr-guard.namespaceLabelsMessage). */
const POLICY_MESSAGE =
  '[namespace-labels] adding, changing or removing the dapr-guard.io/ignore and dapr-guard.io/mode labels of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it';
const IGNORED_EXEMPTION =
  '[exemptions] dapr-guard.io/exempt is ignored: it was added or changed by a user outside exemptions.allowedGroups, so the rules apply — ask a cluster operator to set it';
const BAD_CPU_LIMIT =
  '[sidecar-resource-values] dapr.io/sidecar-cpu-limit "lots" is not a Kubernetes quantity — use a value such as "4" or "500m"; Dapr ignores all four sidecar resource annotations when one is invalid';

const webhookRefusal = (message: string): string =>
  `Error from server (Forbidden): admission webhook "${ENTRY}" denied the request: ${message}`;
const policyRefusal = (namespace: string): string =>
  `Error from server (Forbidden): namespaces "${namespace}" is forbidden: ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: ${POLICY_MESSAGE}`;

/** What a user sees: exit code, stdout, stderr lines. */
function seen(result: CommandResult): { code: number; stdout: string[]; stderr: string[] } {
  return { code: result.code, stdout: lines(result.stdout), stderr: lines(result.stderr) };
}

/** bob creates a Namespace (deleted again in `stop`). */
async function createAsBob(
  key: string,
  extra: Readonly<Record<string, string>>,
): Promise<{ name: string; result: CommandResult }> {
  const name = `e2e-ns-guard-${key}-${randomSuffix()}`;
  scenario.cleanUpLater(['delete', 'namespace', name, '--ignore-not-found', '--wait=false']);
  const result = await scenario.kubectl.run(['create', '-f', '-', ...CREATOR], {
    input: toManifest(namespaceObject(name, extra)),
  });
  return { name, result };
}

async function labels(namespace: string): Promise<Record<string, string>> {
  const stored = await scenario.kubectl.getJson(['get', 'namespace', namespace]);
  return { ...(stored.metadata?.labels ?? {}) };
}

function guardedLabels(all: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(all).filter(([key]) => key === IGNORE || key === MODE));
}

/** `helm install` sees the kinds the cluster serves through discovery; `helm template` needs them as --api-versions. */
async function servedApiVersions(): Promise<string[]> {
  const versions = [...scenario.cluster.apiVersions];
  const group = await scenario.kubectl.run(['get', '--raw', '/apis/admissionregistration.k8s.io/v1']);
  if (group.code === 0) {
    const resources = (JSON.parse(group.stdout) as { resources: { name: string; kind: string }[] }).resources;
    versions.push(
      ...resources
        .filter((resource) => !resource.name.includes('/'))
        .map((resource) => `admissionregistration.k8s.io/v1/${resource.kind}`),
    );
  }
  return versions;
}

let policyObjects: KubeObject[] = [];
let servesPolicies = false;
const NO_POLICY_REASON =
  'the API server does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (Kubernetes 1.30+), so the chart renders none';

describe(
  'namespace guard and exemptions: a tenant who may edit her Namespace cannot opt out',
  { timeout: 420_000 },
  () => {
    before(
      async () => {
        await scenario.start();
        const namespace = scenario.namespace('team-a');
        const rendered = helmTemplate({
          releaseName: RELEASE.name,
          namespace: RELEASE.namespace,
          kubeVersion: scenario.cluster.serverVersion,
          apiVersions: await servedApiVersions(),
          values: { mode: 'enforce' },
        });
        policyObjects = rendered.filter((object) =>
          ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(object.kind ?? ''),
        );
        servesPolicies = (await servedApiVersions()).includes(VAP_KIND);
        scenario.deleteLater(policyObjects);
        const role: KubeObject = {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: TENANT_ROLE },
          rules: [
            { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'patch', 'update'] },
            { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'patch', 'update'] },
            { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create', 'get'] },
          ],
        };
        const binding: KubeObject = {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'alice', namespace },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: TENANT_ROLE },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
        };
        const creator: KubeObject = {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: CREATOR_ROLE },
          rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'get'] }],
        };
        const creatorBinding: KubeObject = {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: CREATOR_ROLE },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CREATOR_ROLE },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }],
        };
        scenario.deleteLater([role, creator, creatorBinding]);
        await scenario.kubectl.ok(['apply', '-f', '-'], {
          input: toManifest([role, binding, creator, creatorBinding]),
        });
        await eventually(
          async () =>
            (await scenario.kubectl.run(['auth', 'can-i', 'create', 'namespaces', ...CREATOR])).stdout.trim() === 'yes'
              ? true
              : undefined,
          { description: 'bob to be allowed to create namespaces' },
        );
        // RBAC reads roles from an informer: wait until alice's rights are in effect.
        await eventually(
          async () =>
            (await scenario.kubectl.run(['get', 'namespace', namespace, '-o', 'name', ...ALICE])).code === 0
              ? true
              : undefined,
          { description: `alice to be allowed to get namespace ${namespace}` },
        );
      },
      { timeout: SETUP_TIMEOUT_MS },
    );
    after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

    test(
      'RBAC lets alice label her own Namespace (an unguarded label), and no other Namespace',
      scenario.check(async () => {
        const namespace = scenario.namespace('team-a');
        const own = await scenario.kubectl.run(['label', 'namespace', namespace, 'team=a', ...ALICE]);
        assert.deepEqual(seen(own), { code: 0, stdout: [`namespace/${namespace} labeled`], stderr: [] });
        assert.equal((await labels(namespace))['team'], 'a');
        const other = await scenario.kubectl.run(['label', 'namespace', 'default', 'team=a', ...ALICE]);
        assert.deepEqual(seen(other), {
          code: 1,
          stdout: [],
          stderr: [
            'Error from server (Forbidden): namespaces "default" is forbidden: User "alice" cannot get resource "namespaces" in API group "" in the namespace "default"',
          ],
        });
      }),
    );

    test(
      'with dapr-guard running, alice may not add dapr-guard.io/ignore or dapr-guard.io/mode; a cluster admin may; alice may not change or remove them',
      scenario.check(async () => {
        const namespace = scenario.namespace('team-a');
        const ignore = await scenario.kubectl.run(['label', 'namespace', namespace, `${IGNORE}=please`, ...ALICE]);
        assert.deepEqual(seen(ignore), {
          code: 1,
          stdout: [],
          stderr: [webhookRefusal(labelMessage('adding', IGNORE))],
        });
        const mode = await scenario.kubectl.run(['label', 'namespace', namespace, `${MODE}=audit`, ...ALICE]);
        assert.deepEqual(seen(mode), { code: 1, stdout: [], stderr: [webhookRefusal(labelMessage('adding', MODE))] });
        assert.deepEqual(guardedLabels(await labels(namespace)), {}, 'nothing was stored');
        // The refusals came from dapr-guard. 1.20.2 sends each refused PATCH twice (two uids, ms apart:
        // its storage layer retries a failed update once from a fresh etcd read), 1.37.2 once.
        const reviews = (await scenario.guard.reviews({ name: namespace })).filter(
          (review) => review.user === 'alice' && review.decision !== 'allowed',
        );
        assert.deepEqual(
          [
            ...new Set(
              reviews.map((review) => JSON.stringify([review.kind, review.operation, review.decision, review.rules])),
            ),
          ],
          [JSON.stringify(['core/v1/Namespace', 'UPDATE', 'denied', ['namespace-labels']])],
        );
        assert.equal(
          reviews.length,
          hasMatchConditions(scenario.cluster) ? 2 : 4,
          'reviews of the two refused label commands',
        );

        const admin = await scenario.kubectl.run([
          'label',
          'namespace',
          namespace,
          `${IGNORE}=please`,
          `${MODE}=audit`,
        ]);
        try {
          await alicesAttemptsOnAdminLabels(admin, namespace);
        } finally {
          // The labels stay the admin's to remove (also after a failure here: the next tests need team-a reviewed).
          const removed = await scenario.kubectl.run(['label', 'namespace', namespace, `${IGNORE}-`, `${MODE}-`]);
          assert.deepEqual(seen(removed), { code: 0, stdout: [`namespace/${namespace} unlabeled`], stderr: [] });
          assert.deepEqual(guardedLabels(await labels(namespace)), {});
        }
      }),
    );

    async function alicesAttemptsOnAdminLabels(admin: CommandResult, namespace: string): Promise<void> {
      assert.deepEqual(seen(admin), { code: 0, stdout: [`namespace/${namespace} labeled`], stderr: [] });
      assert.deepEqual(guardedLabels(await labels(namespace)), { [IGNORE]: 'please', [MODE]: 'audit' });

      const change = await scenario.kubectl.run([
        'label',
        'namespace',
        namespace,
        `${MODE}=enforce`,
        '--overwrite',
        ...ALICE,
      ]);
      assert.deepEqual(seen(change), { code: 1, stdout: [], stderr: [webhookRefusal(labelMessage('changing', MODE))] });
      const remove = await scenario.kubectl.run(['label', 'namespace', namespace, `${IGNORE}-`, `${MODE}-`, ...ALICE]);
      assert.deepEqual(seen(remove), {
        code: 1,
        stdout: [],
        stderr: [webhookRefusal(labelMessage('removing', IGNORE)), labelMessage('removing', MODE)],
      });
      assert.deepEqual(guardedLabels(await labels(namespace)), { [IGNORE]: 'please', [MODE]: 'audit' });
    }

    test(
      'with dapr-guard running, a Namespace CREATE with a guarded label by someone outside exemptions.allowedGroups is refused',
      scenario.check(async () => {
        const plain = await createAsBob('plain', {});
        assert.deepEqual(seen(plain.result), { code: 0, stdout: [`namespace/${plain.name} created`], stderr: [] });
        const labelled = await createAsBob('ignored', { [IGNORE]: 'true' });
        assert.deepEqual(seen(labelled.result), {
          code: 1,
          stdout: [],
          stderr: [
            `Error from server (Forbidden): error when creating "STDIN": admission webhook "${ENTRY}" denied the request: ${labelMessage('adding', IGNORE)}`,
          ],
        });
        assert.equal(await scenario.kubectl.exists(['namespace', labelled.name]), false);
      }),
    );

    const exemptPod = (name: string, namespace: string): KubeObject =>
      pod(name, namespace, {
        ...daprApp(name, { 'dapr.io/api-token-secret': 'dapr-api-token', 'dapr.io/sidecar-cpu-limit': 'lots' }),
        'dapr-guard.io/exempt': 'sidecar-resource-values',
        'dapr-guard.io/exempt-reason': 'load test of the sidecar defaults (TICKET-42)',
      });

    test(
      "exemptions: alice's is ignored (with the notice), a cluster admin's counts, and keeps counting on alice's later updates that carry it unchanged",
      scenario.check(async () => {
        const namespace = scenario.namespace('team-a');
        await scenario.waitUntilReviewed(namespace);
        const byAlice = await scenario.kubectl.run(['create', '-f', '-', ...ALICE], {
          input: toManifest(exemptPod('by-alice', namespace)),
        });
        assert.deepEqual(seen(byAlice), {
          code: 1,
          stdout: [],
          stderr: [
            `Warning: ${IGNORED_EXEMPTION}`,
            `Error from server (Forbidden): error when creating "STDIN": admission webhook "${WORKLOADS}" denied the request: ${BAD_CPU_LIMIT}`,
          ],
        });
        assert.equal(await scenario.kubectl.exists(['-n', namespace, 'pod', 'by-alice']), false);

        const byAdmin = await scenario.kubectl.run(['create', '-f', '-'], {
          input: toManifest(exemptPod('by-admin', namespace)),
        });
        assert.deepEqual(seen(byAdmin), { code: 0, stdout: ['pod/by-admin created'], stderr: [] });
        const stored = await scenario.kubectl.getJson(['-n', namespace, 'get', 'pod', 'by-admin']);
        assert.equal(stored.metadata?.annotations?.['dapr.io/sidecar-cpu-limit'], 'lots', 'stored as written');

        const update = await scenario.kubectl.run(['-n', namespace, 'label', 'pod', 'by-admin', 'team=a', ...ALICE]);
        assert.deepEqual(seen(update), { code: 0, stdout: ['pod/by-admin labeled'], stderr: [] });
        const review = (await scenario.guard.reviews({ namespace, name: 'by-admin' })).filter(
          (line) => line.endpoint === 'validate' && line.user === 'alice',
        );
        assert.deepEqual(
          review.map((line) => [line.operation, line.decision, line.exempted]),
          [['UPDATE', 'allowed', ['sidecar-resource-values']]],
        );

        // Once alice changes the exemption it is hers, and no longer counts.
        const reason = await scenario.kubectl.run([
          '-n',
          namespace,
          'annotate',
          'pod',
          'by-admin',
          'dapr-guard.io/exempt-reason=mine now',
          '--overwrite',
          ...ALICE,
        ]);
        assert.deepEqual(seen(reason), {
          code: 1,
          stdout: [],
          stderr: [
            `Warning: ${IGNORED_EXEMPTION}`,
            `Error from server (Forbidden): admission webhook "${WORKLOADS}" denied the request: ${BAD_CPU_LIMIT}`,
          ],
        });
      }),
    );

    test(
      "ValidatingAdmissionPolicy: the chart's policy and binding, rendered for this cluster, are accepted by the API server and refuse alice's label change",
      scenario.check(async (t) => {
        const kinds = policyObjects.map((object) => `${object.kind ?? ''}/${object.metadata?.name ?? ''}`);
        if (!servesPolicies) {
          assert.deepEqual(kinds, [], 'nothing rendered for a cluster without the API');
          t.skip(NO_POLICY_REASON);
          return;
        }
        assert.deepEqual(kinds, [`ValidatingAdmissionPolicy/${POLICY}`, `ValidatingAdmissionPolicyBinding/${POLICY}`]);
        const applied = await scenario.kubectl.run(['apply', '-f', '-'], { input: toManifest(policyObjects) });
        assert.deepEqual(seen(applied), {
          code: 0,
          stdout: [
            `validatingadmissionpolicy.admissionregistration.k8s.io/${POLICY} created`,
            `validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY} created`,
          ],
          stderr: [],
        });
        // The API server type-checks the expressions against Namespace and reports in status.
        const status = await eventually(
          async () => {
            const stored = await scenario.kubectl.getJson<
              KubeObject & {
                metadata: { generation: number };
                status?: { observedGeneration?: number; typeChecking?: unknown };
              }
            >(['get', 'validatingadmissionpolicy', POLICY]);
            return stored.status?.observedGeneration === stored.metadata.generation ? stored.status : undefined;
          },
          { description: `status.typeChecking of ValidatingAdmissionPolicy ${POLICY}` },
        );
        assert.deepEqual(status.typeChecking ?? {}, {}, 'no type-checking warnings');

        const namespace = scenario.namespace('team-a');
        // The policy takes effect asynchronously; ValidatingAdmissionPolicy runs before the webhooks.
        await eventually(
          async () => {
            const probe = await scenario.kubectl.run([
              'label',
              'namespace',
              namespace,
              `${IGNORE}=please`,
              '--dry-run=server',
              ...ALICE,
            ]);
            return probe.stderr.includes('ValidatingAdmissionPolicy') ? true : undefined;
          },
          { description: `ValidatingAdmissionPolicy ${POLICY} to refuse alice's label change` },
        );
        const refused = await scenario.kubectl.run(['label', 'namespace', namespace, `${IGNORE}=please`, ...ALICE]);
        assert.deepEqual(seen(refused), { code: 1, stdout: [], stderr: [policyRefusal(namespace)] });
        const unguarded = await scenario.kubectl.run([
          'label',
          'namespace',
          namespace,
          'team=b',
          '--overwrite',
          ...ALICE,
        ]);
        assert.deepEqual(seen(unguarded), { code: 0, stdout: [`namespace/${namespace} labeled`], stderr: [] });
        const admin = await scenario.kubectl.run(['label', 'namespace', namespace, `${MODE}=warn`]);
        assert.deepEqual(seen(admin), { code: 0, stdout: [`namespace/${namespace} labeled`], stderr: [] });
        assert.deepEqual(guardedLabels(await labels(namespace)), { [MODE]: 'warn' });
      }),
    );

    test(
      'with dapr-guard stopped, the ValidatingAdmissionPolicy alone still refuses alice (without it, failurePolicy Ignore lets the change through)',
      scenario.check(async (t) => {
        const namespace = scenario.namespace('team-a');
        const stopped = await scenario.guard.stop();
        assert.deepEqual(stopped, { code: 0, signal: null });
        if (!servesPolicies) {
          // What a cluster without the API gets while dapr-guard is down: the entry fails open.
          const through = await scenario.kubectl.run(['label', 'namespace', namespace, `${MODE}=audit`, ...ALICE]);
          assert.deepEqual(seen(through), { code: 0, stdout: [`namespace/${namespace} labeled`], stderr: [] });
          assert.deepEqual(guardedLabels(await labels(namespace)), { [MODE]: 'audit' });
          t.skip(`${NO_POLICY_REASON}; the webhook entry fails open (failurePolicy Ignore), as the chart documents`);
          return;
        }
        for (const args of [[`${IGNORE}=please`], [`${MODE}=audit`, '--overwrite'], [`${MODE}-`]]) {
          const refused = await scenario.kubectl.run(['label', 'namespace', namespace, ...args, ...ALICE]);
          assert.deepEqual(seen(refused), { code: 1, stdout: [], stderr: [policyRefusal(namespace)] }, args.join(' '));
        }
        assert.deepEqual(guardedLabels(await labels(namespace)), { [MODE]: 'warn' });
        const admin = await scenario.kubectl.run(['label', 'namespace', namespace, `${MODE}-`]);
        assert.deepEqual(seen(admin), { code: 0, stdout: [`namespace/${namespace} unlabeled`], stderr: [] });
        // CREATE: oldObject is null, and the expressions must still evaluate (failurePolicy Fail would refuse every Namespace).
        const plain = await createAsBob('plain', {});
        assert.deepEqual(seen(plain.result), { code: 0, stdout: [`namespace/${plain.name} created`], stderr: [] });
        const unguarded = await createAsBob('labelled', { team: 'b' });
        assert.deepEqual(seen(unguarded.result), {
          code: 0,
          stdout: [`namespace/${unguarded.name} created`],
          stderr: [],
        });
        const labelled = await createAsBob('audited', { [MODE]: 'audit' });
        assert.deepEqual(seen(labelled.result), {
          code: 1,
          stdout: [],
          stderr: [
            `Error from server (Forbidden): error when creating "STDIN": ${policyRefusal(labelled.name).slice('Error from server (Forbidden): '.length)}`,
          ],
        });
        assert.equal(await scenario.kubectl.exists(['namespace', labelled.name]), false);
        const byAdmin = await scenario.createNamespace('admin', { [MODE]: 'audit' });
        assert.deepEqual(guardedLabels(await labels(byAdmin)), { [MODE]: 'audit' });
        assert.equal(scenario.guard.running, false, 'the refusals above came from the API server alone');
      }),
    );
  },
);
