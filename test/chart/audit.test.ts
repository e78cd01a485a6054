import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmLint, helmTemplate, type KubeObject } from '../support/helm.ts';
import { NAMESPACE, rulesOf, type PolicyRule } from './objects.ts';

const AUDIT = 'dapr-guard-audit';

function named(objects: readonly KubeObject[], kind: string, name = AUDIT): KubeObject {
  const found = objects.filter((object) => object.kind === kind && object.metadata?.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0] as KubeObject;
}

function auditObjects(objects: readonly KubeObject[]): string[] {
  return objects
    .filter((object) => object.metadata?.labels?.['app.kubernetes.io/component'] === 'audit')
    .map((object) => `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`);
}

const LIST: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces', 'nodes', 'pods'], verbs: ['list', 'watch'] },
  {
    apiGroups: ['apps'],
    resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
    verbs: ['list', 'watch'],
  },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
  {
    apiGroups: ['dapr.io'],
    resources: ['components', 'configurations', 'httpendpoints', 'mcpservers'],
    verbs: ['list', 'watch'],
  },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], verbs: ['list', 'watch'] },
];

describe('audit CronJob', () => {
  it('is not rendered by default', () => {
    assert.deepEqual(auditObjects(helmTemplate()), []);
  });

  it('audit.enabled: a CronJob running dapr-guard audit --report hourly, with its own least-privilege ServiceAccount', () => {
    const objects = helmTemplate({ values: { audit: { enabled: true } } });
    assert.deepEqual(auditObjects(objects).sort(), [
      `ClusterRole//${AUDIT}`,
      `ClusterRoleBinding//${AUDIT}`,
      `CronJob/${NAMESPACE}/${AUDIT}`,
      `Role/dapr-system/${AUDIT}`,
      `RoleBinding/dapr-system/${AUDIT}`,
      `ServiceAccount/${NAMESPACE}/${AUDIT}`,
    ]);
    assert.deepEqual(rulesOf(named(objects, 'ClusterRole')), [
      ...LIST,
      {
        apiGroups: ['openreports.io'],
        resources: ['reports', 'clusterreports'],
        verbs: ['list', 'create', 'update', 'delete'],
      },
    ]);
    // Secrets only by name, only get: the issuer key is in that Secret, but never a list of Secrets.
    assert.deepEqual(rulesOf(named(objects, 'Role')), [
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['dapr-trust-bundle'], verbs: ['get'] },
    ]);
    assert.deepEqual(named(objects, 'RoleBinding')['subjects'], [
      { kind: 'ServiceAccount', name: AUDIT, namespace: NAMESPACE },
    ]);
    assert.deepEqual(named(objects, 'ClusterRoleBinding')['subjects'], [
      { kind: 'ServiceAccount', name: AUDIT, namespace: NAMESPACE },
    ]);

    const cronJob = named(objects, 'CronJob');
    const spec = cronJob['spec'] as {
      schedule: string;
      concurrencyPolicy: string;
      jobTemplate: { spec: { template: { spec: Record<string, unknown> } } };
    };
    assert.equal(spec.schedule, '0 * * * *');
    assert.equal(spec.concurrencyPolicy, 'Forbid');
    const pod = spec.jobTemplate.spec.template.spec;
    const server = named(objects, 'Deployment', 'dapr-guard')['spec'] as {
      template: { spec: Record<string, unknown> };
    };
    assert.equal(pod['serviceAccountName'], AUDIT);
    assert.deepEqual(
      pod['securityContext'],
      server.template.spec['securityContext'],
      'the same pod security as the webhook',
    );
    const [container, ...others] = pod['containers'] as Record<string, unknown>[];
    assert.equal(others.length, 0);
    const [serverContainer] = server.template.spec['containers'] as Record<string, unknown>[];
    assert.deepEqual(container?.['args'], ['audit', '--report', '--report-api', 'openreports.io/v1alpha1']);
    assert.equal(container?.['image'], serverContainer?.['image']);
    assert.deepEqual(container?.['securityContext'], serverContainer?.['securityContext']);
    assert.deepEqual(container?.['env'], [
      { name: 'DAPR_GUARD_CONFIG', value: '/etc/dapr-guard/config.yaml' },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=96 --max-semi-space-size=2' },
    ]);
    assert.deepEqual(
      pod['volumes'],
      [{ name: 'config', configMap: { name: 'dapr-guard-config' } }],
      "the webhook's configuration ConfigMap",
    );
  });

  it('the older report API and another schedule: the RBAC follows', () => {
    const objects = helmTemplate({
      values: { audit: { enabled: true, schedule: '*/15 * * * *', reportApi: 'wgpolicyk8s.io/v1alpha2' } },
    });
    assert.deepEqual(rulesOf(named(objects, 'ClusterRole')).at(-1), {
      apiGroups: ['wgpolicyk8s.io'],
      resources: ['policyreports', 'clusterpolicyreports'],
      verbs: ['list', 'create', 'update', 'delete'],
    });
    assert.equal((named(objects, 'CronJob')['spec'] as { schedule: string }).schedule, '*/15 * * * *');
  });

  it('audit.installReportCRDs: the two CRDs of the report API, kept on uninstall; none otherwise', () => {
    const crds = (objects: readonly KubeObject[]): string[] =>
      objects
        .filter((object) => object.kind === 'CustomResourceDefinition')
        .map((object) => object.metadata?.name ?? '');
    assert.deepEqual(crds(helmTemplate({ values: { audit: { enabled: true } } })), []);
    const objects = helmTemplate({ values: { audit: { enabled: true, installReportCRDs: true } } });
    assert.deepEqual(crds(objects), ['reports.openreports.io', 'clusterreports.openreports.io']);
    assert.equal(
      named(objects, 'CustomResourceDefinition', 'reports.openreports.io').metadata?.annotations?.[
        'helm.sh/resource-policy'
      ],
      'keep',
    );
    const older = helmTemplate({
      values: { audit: { installReportCRDs: true, reportApi: 'wgpolicyk8s.io/v1alpha2' } },
    });
    assert.deepEqual(crds(older), ['policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io']);
  });

  it('an unknown report API or key fails the render', () => {
    const result = helmLint({ values: { audit: { enabled: true, reportApi: 'reports.x-k8s.io/v1beta2' } } });
    assert.equal(result.ok, false);
    assert.match(result.stdout + result.stderr, /reportApi/);
  });
});
