import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmTemplate, type KubeObject } from '../support/helm.ts';
import { findAll, findOne, NAMESPACE, rulesOf, TLS_CHOICE_NAMES, TLS_CHOICES, type PolicyRule } from './objects.ts';

const NAMESPACES_RULE: PolicyRule = { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] };
const WEBHOOK_CONFIGURATIONS_RULE: PolicyRule = {
  apiGroups: ['admissionregistration.k8s.io'],
  resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
  resourceNames: ['dapr-guard'],
  verbs: ['get', 'patch'],
};
const OWN_SECRET_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], resourceNames: ['dapr-guard-server-tls'], verbs: ['get', 'update'] },
];
const SUBJECTS = [{ kind: 'ServiceAccount', name: 'dapr-guard', namespace: NAMESPACE }];

function rbacKinds(objects: readonly KubeObject[]): string[] {
  return objects
    .filter((object) => ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(object.kind ?? ''))
    .map((object) => `${object.kind}/${object.metadata?.name}`);
}

describe('RBAC', () => {
  it('by default grants only namespaces get/list/watch, cluster-wide', () => {
    const objects = helmTemplate();
    assert.deepEqual(rbacKinds(objects), ['ClusterRole/dapr-guard', 'ClusterRoleBinding/dapr-guard']);
    assert.deepEqual(rulesOf(findOne(objects, 'ClusterRole')), [NAMESPACES_RULE]);
    const binding = findOne(objects, 'ClusterRoleBinding');
    assert.deepEqual(binding['roleRef'], {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'dapr-guard',
    });
    assert.deepEqual(binding['subjects'], SUBJECTS);
  });

  it('with self-managed TLS adds patch of its own two configurations and its own Secret, by name', () => {
    const objects = helmTemplate({ values: TLS_CHOICES.selfManaged });
    assert.deepEqual(rbacKinds(objects), [
      'ClusterRole/dapr-guard',
      'ClusterRoleBinding/dapr-guard',
      'Role/dapr-guard',
      'RoleBinding/dapr-guard',
    ]);
    assert.deepEqual(rulesOf(findOne(objects, 'ClusterRole')), [NAMESPACES_RULE, WEBHOOK_CONFIGURATIONS_RULE]);
    const role = findOne(objects, 'Role');
    assert.equal(role.metadata?.namespace, NAMESPACE);
    assert.deepEqual(rulesOf(role), OWN_SECRET_RULES);
    const binding = findOne(objects, 'RoleBinding');
    assert.equal(binding.metadata?.namespace, NAMESPACE);
    assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dapr-guard' });
    assert.deepEqual(binding['subjects'], SUBJECTS);
  });

  it('names the configurations and Secret the server is told about', () => {
    const objects = helmTemplate({
      releaseName: 'guard',
      values: {
        tls: { mode: 'selfManaged', selfManaged: { secretName: 'guard-pki' } },
        webhooks: { configurationName: 'dapr-guard-prod' },
      },
    });
    assert.deepEqual(rulesOf(findOne(objects, 'ClusterRole'))[1]?.resourceNames, ['dapr-guard-prod']);
    assert.deepEqual(rulesOf(findOne(objects, 'Role'))[0]?.resourceNames, ['guard-pki']);
  });

  it('self-managed TLS: the chart creates the empty Secret the server fills, kept on uninstall', () => {
    const objects = helmTemplate({ values: TLS_CHOICES.selfManaged });
    const secret = findOne(objects, 'Secret', 'dapr-guard-server-tls');
    assert.deepEqual(secret.metadata?.annotations, { 'helm.sh/resource-policy': 'keep' });
    assert.equal(secret['type'], 'Opaque');
    assert.equal(secret['data'], undefined);
  });

  it('grants nothing when the server does not call the API', () => {
    assert.deepEqual(rbacKinds(helmTemplate({ values: { namespaceModes: { source: 'off' } } })), []);
  });

  it('without namespace labels, self-managed TLS keeps only its own objects', () => {
    const objects = helmTemplate({ values: { namespaceModes: { source: 'off' }, tls: { mode: 'selfManaged' } } });
    assert.deepEqual(rulesOf(findOne(objects, 'ClusterRole')), [WEBHOOK_CONFIGURATIONS_RULE]);
    assert.deepEqual(rulesOf(findOne(objects, 'Role')), OWN_SECRET_RULES);
  });

  it('renders none with rbac.create=false', () => {
    assert.deepEqual(
      rbacKinds(helmTemplate({ values: { rbac: { create: false }, tls: { mode: 'selfManaged' } } })),
      [],
    );
  });

  for (const choice of TLS_CHOICE_NAMES) {
    it(`${choice}: no wildcard, no cluster-wide Secret access, no write outside its own objects`, () => {
      const objects = helmTemplate({ values: TLS_CHOICES[choice] });
      for (const role of [...findAll(objects, 'ClusterRole'), ...findAll(objects, 'Role')]) {
        for (const rule of rulesOf(role)) {
          assert.ok(![...rule.apiGroups, ...rule.resources, ...rule.verbs].includes('*'), JSON.stringify(rule));
          assert.ok(!rule.verbs.includes('create'), `no create: ${JSON.stringify(rule)}`);
          const writes = rule.verbs.filter((verb) => !['get', 'list', 'watch'].includes(verb));
          if (writes.length > 0)
            assert.ok(rule.resourceNames !== undefined && rule.resourceNames.length > 0, JSON.stringify(rule));
        }
      }
      for (const clusterRole of findAll(objects, 'ClusterRole')) {
        assert.ok(
          !rulesOf(clusterRole).some((rule) => rule.resources.includes('secrets')),
          'no Secret access cluster-wide',
        );
      }
    });
  }
});
