import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmTemplate, helmTemplateResult } from '../support/helm.ts';
import {
  allWebhooks,
  findOne,
  NAMESPACE,
  TLS_CHOICE_NAMES,
  TLS_CHOICES,
  webhookNamed,
  webhooksOf,
  type Webhook,
  type WebhookRule,
} from './objects.ts';

const MUTATING = 'MutatingWebhookConfiguration';
const VALIDATING = 'ValidatingWebhookConfiguration';
const DAPR_INJECTOR_CONFIGURATION = 'dapr-sidecar-injector';

const WORKLOAD_RULES: readonly WebhookRule[] = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
  {
    apiGroups: ['batch'],
    apiVersions: ['v1'],
    resources: ['jobs', 'cronjobs'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
];

const DAPR_RESOURCE_RULES: readonly WebhookRule[] = [
  {
    apiGroups: ['dapr.io'],
    apiVersions: ['v1alpha1'],
    resources: ['components', 'configurations', 'httpendpoints', 'mcpservers'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
];

const CONTROL_PLANE_RULES: readonly WebhookRule[] = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['services', 'configmaps', 'secrets', 'serviceaccounts'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    apiVersions: ['v1'],
    resources: ['roles', 'rolebindings'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
  {
    apiGroups: ['policy'],
    apiVersions: ['v1'],
    resources: ['poddisruptionbudgets'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Namespaced',
  },
];

const TRUST_BUNDLE_ENTRY = 'trust-bundle.validate.dapr-guard.io';

const TRUST_BUNDLE_RULES: readonly WebhookRule[] = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['secrets', 'configmaps'],
    operations: ['UPDATE'],
    scope: 'Namespaced',
  },
];

const CLUSTER_RULES: readonly WebhookRule[] = [
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    apiVersions: ['v1'],
    resources: ['clusterrolebindings'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Cluster',
  },
];

const NAMESPACE_LABELS_ENTRY = 'namespace-labels.validate.dapr-guard.io';
const NAMESPACE_RULES: readonly WebhookRule[] = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['namespaces'],
    operations: ['CREATE', 'UPDATE'],
    scope: 'Cluster',
  },
];

const defaults = helmTemplate();

function configurationName(
  objects: ReturnType<typeof helmTemplate>,
  kind: typeof MUTATING | typeof VALIDATING,
): string {
  return findOne(objects, kind).metadata?.name ?? '';
}

describe('webhook configuration names', () => {
  it('are "dapr-guard" for the default release and sort before Dapr\'s injector', () => {
    assert.equal(configurationName(defaults, MUTATING), 'dapr-guard');
    assert.equal(configurationName(defaults, VALIDATING), 'dapr-guard');
    assert.ok('dapr-guard' < DAPR_INJECTOR_CONFIGURATION);
  });

  for (const release of ['zz-top', 'my-release', 'dapr', 'z']) {
    it(`keep the dapr-guard prefix (and the order) for release ${release}`, () => {
      const objects = helmTemplate({ releaseName: release });
      const name = configurationName(objects, MUTATING);
      assert.equal(name, `dapr-guard-${release}`);
      assert.equal(configurationName(objects, VALIDATING), name);
      assert.ok(name < DAPR_INJECTOR_CONFIGURATION, `${name} must sort before ${DAPR_INJECTOR_CONFIGURATION}`);
    });
  }

  it('accept an override that sorts before dapr-sidecar-injector', () => {
    const objects = helmTemplate({ values: { webhooks: { configurationName: 'admission-guard' } } });
    assert.equal(configurationName(objects, MUTATING), 'admission-guard');
  });

  for (const name of ['zz-guard', 'dapr-sidecar-injector', 'dapr-zguard']) {
    it(`refuse the override ${name}, which does not sort before dapr-sidecar-injector`, () => {
      const result = helmTemplateResult({ values: { webhooks: { configurationName: name } } });
      assert.equal(result.ok, false);
      assert.match(result.stderr, /must sort before "dapr-sidecar-injector"/);
      // The release in these tests is "dapr-guard": its default name is the example, not "dapr-guard-dapr-guard".
      assert.match(
        result.stderr,
        /use a name that starts with "dapr-guard", such as this release's default "dapr-guard"/,
      );
    });
  }
});

describe('mutating webhook', () => {
  const webhooks = webhooksOf(defaults, MUTATING);

  it('has one entry, for Pods and the workload kinds, CREATE and UPDATE', () => {
    assert.deepEqual(
      webhooks.map((webhook) => webhook.name),
      ['mutate.dapr-guard.io'],
    );
    assert.deepEqual(webhooks[0]?.rules, WORKLOAD_RULES);
  });

  it('is side-effect free, v1 only, reinvoked if needed, 2 s timeout, fails open', () => {
    const webhook = webhooks[0] as Webhook;
    assert.equal(webhook.sideEffects, 'None');
    assert.deepEqual(webhook.admissionReviewVersions, ['v1']);
    assert.equal(webhook.reinvocationPolicy, 'IfNeeded');
    assert.equal(webhook.timeoutSeconds, 2);
    assert.equal(webhook.failurePolicy, 'Ignore');
    assert.equal(webhook.matchPolicy, 'Equivalent');
  });

  it('calls /mutate on the Service port 443', () => {
    assert.deepEqual(webhooks[0]?.clientConfig.service, {
      name: 'dapr-guard',
      namespace: NAMESPACE,
      path: '/mutate',
      port: 443,
    });
  });

  it('takes failurePolicy and timeoutSeconds from values', () => {
    const objects = helmTemplate({ values: { webhooks: { mutating: { failurePolicy: 'Fail', timeoutSeconds: 5 } } } });
    const webhook = webhookNamed(objects, MUTATING, 'mutate.dapr-guard.io');
    assert.equal(webhook.failurePolicy, 'Fail');
    assert.equal(webhook.timeoutSeconds, 5);
  });
});

describe('validating webhook', () => {
  it('has the workloads, Dapr resources, control-plane, cluster, trust-bundle and namespace-labels entries', () => {
    assert.deepEqual(
      webhooksOf(defaults, VALIDATING).map((webhook) => webhook.name),
      [
        'workloads.validate.dapr-guard.io',
        'dapr-resources.validate.dapr-guard.io',
        'control-plane.validate.dapr-guard.io',
        'cluster.validate.dapr-guard.io',
        TRUST_BUNDLE_ENTRY,
        NAMESPACE_LABELS_ENTRY,
      ],
    );
  });

  it('gives each entry exactly the kinds its rules need', () => {
    assert.deepEqual(webhookNamed(defaults, VALIDATING, 'workloads.validate.dapr-guard.io').rules, WORKLOAD_RULES);
    assert.deepEqual(
      webhookNamed(defaults, VALIDATING, 'dapr-resources.validate.dapr-guard.io').rules,
      DAPR_RESOURCE_RULES,
    );
    assert.deepEqual(
      webhookNamed(defaults, VALIDATING, 'control-plane.validate.dapr-guard.io').rules,
      CONTROL_PLANE_RULES,
    );
    assert.deepEqual(webhookNamed(defaults, VALIDATING, 'cluster.validate.dapr-guard.io').rules, CLUSTER_RULES);
    assert.deepEqual(webhookNamed(defaults, VALIDATING, TRUST_BUNDLE_ENTRY).rules, TRUST_BUNDLE_RULES);
    assert.deepEqual(webhookNamed(defaults, VALIDATING, NAMESPACE_LABELS_ENTRY).rules, NAMESPACE_RULES);
  });

  it('is side-effect free, v1 only, 3 s timeout, /validate on port 443, no reinvocation', () => {
    for (const webhook of webhooksOf(defaults, VALIDATING)) {
      assert.equal(webhook.sideEffects, 'None', webhook.name);
      assert.deepEqual(webhook.admissionReviewVersions, ['v1'], webhook.name);
      assert.equal(webhook.timeoutSeconds, 3, webhook.name);
      assert.equal(webhook.reinvocationPolicy, undefined, webhook.name);
      assert.deepEqual(
        webhook.clientConfig.service,
        { name: 'dapr-guard', namespace: NAMESPACE, path: '/validate', port: 443 },
        webhook.name,
      );
    }
  });

  it('fails open for workloads and the control plane, closed for Dapr resources in enforce mode', () => {
    const policies = Object.fromEntries(
      webhooksOf(defaults, VALIDATING).map((webhook) => [webhook.name, webhook.failurePolicy]),
    );
    assert.deepEqual(policies, {
      'workloads.validate.dapr-guard.io': 'Ignore',
      'dapr-resources.validate.dapr-guard.io': 'Fail',
      'control-plane.validate.dapr-guard.io': 'Ignore',
      'cluster.validate.dapr-guard.io': 'Ignore',
      [TRUST_BUNDLE_ENTRY]: 'Ignore',
      [NAMESPACE_LABELS_ENTRY]: 'Ignore',
    });
  });

  const cases: readonly [string, Record<string, unknown>, string][] = [
    ['enforce', { mode: 'enforce' }, 'Fail'],
    ['warn', { mode: 'warn' }, 'Ignore'],
    ['audit', { mode: 'audit' }, 'Ignore'],
    ['audit with an explicit Fail', { mode: 'audit', webhooks: { daprResources: { failurePolicy: 'Fail' } } }, 'Fail'],
    [
      'enforce with an explicit Ignore',
      { mode: 'enforce', webhooks: { daprResources: { failurePolicy: 'Ignore' } } },
      'Ignore',
    ],
  ];
  for (const [label, values, expected] of cases) {
    it(`sets the Dapr resources failurePolicy to ${expected} in ${label}`, () => {
      const objects = helmTemplate({ values });
      assert.equal(webhookNamed(objects, VALIDATING, 'dapr-resources.validate.dapr-guard.io').failurePolicy, expected);
      assert.equal(webhookNamed(objects, VALIDATING, 'workloads.validate.dapr-guard.io').failurePolicy, 'Ignore');
    });
  }

  it("takes each entry's failurePolicy and timeout from values", () => {
    const objects = helmTemplate({
      values: {
        webhooks: {
          workloads: { failurePolicy: 'Fail', timeoutSeconds: 7 },
          daprResources: { timeoutSeconds: 8 },
          controlPlane: { failurePolicy: 'Fail', timeoutSeconds: 9 },
        },
      },
    });
    const byName = (name: string): Webhook => webhookNamed(objects, VALIDATING, name);
    assert.equal(byName('workloads.validate.dapr-guard.io').failurePolicy, 'Fail');
    assert.equal(byName('workloads.validate.dapr-guard.io').timeoutSeconds, 7);
    assert.equal(byName('dapr-resources.validate.dapr-guard.io').timeoutSeconds, 8);
    assert.equal(byName('control-plane.validate.dapr-guard.io').failurePolicy, 'Fail');
    assert.equal(byName('cluster.validate.dapr-guard.io').timeoutSeconds, 9);
  });

  it('drops the control-plane entries when webhooks.controlPlane.enabled is false', () => {
    const objects = helmTemplate({ values: { webhooks: { controlPlane: { enabled: false } } } });
    assert.deepEqual(
      webhooksOf(objects, VALIDATING).map((webhook) => webhook.name),
      [
        'workloads.validate.dapr-guard.io',
        'dapr-resources.validate.dapr-guard.io',
        TRUST_BUNDLE_ENTRY,
        NAMESPACE_LABELS_ENTRY,
      ],
    );
  });

  it('drops the trust-bundle entry when webhooks.trustBundle.enabled is false', () => {
    const objects = helmTemplate({ values: { webhooks: { trustBundle: { enabled: false } } } });
    assert.ok(!webhooksOf(objects, VALIDATING).some((webhook) => webhook.name === TRUST_BUNDLE_ENTRY));
    assert.equal(webhooksOf(objects, VALIDATING).length, 5);
  });
});

describe('trust-bundle entry', () => {
  it('sends only dapr-trust-bundle on 1.28+, UPDATEs in webhooks.trustBundle.namespaces, always failing open', () => {
    const objects = helmTemplate({
      kubeVersion: '1.30.2',
      values: { webhooks: { trustBundle: { namespaces: ['dapr-system', 'dapr-canary'], timeoutSeconds: 5 } } },
    });
    const webhook = webhookNamed(objects, VALIDATING, TRUST_BUNDLE_ENTRY);
    assert.equal(webhook.failurePolicy, 'Ignore');
    assert.equal(webhook.timeoutSeconds, 5);
    assert.deepEqual(webhook.matchConditions, [
      { name: 'dapr-trust-bundle-only', expression: "object.metadata.name == 'dapr-trust-bundle'" },
    ]);
    assert.deepEqual(webhook.namespaceSelector?.matchExpressions?.[2], {
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: ['dapr-system', 'dapr-canary'],
    });
  });

  it('below 1.28 has no matchConditions: the rule itself lets other Secrets and ConfigMaps through', () => {
    const webhook = webhookNamed(helmTemplate({ kubeVersion: '1.20.0' }), VALIDATING, TRUST_BUNDLE_ENTRY);
    assert.equal(webhook.matchConditions, undefined);
    assert.deepEqual(webhook.rules, TRUST_BUNDLE_RULES);
  });

  it('has no failurePolicy value: Fail would block Sentry while dapr-guard is down', () => {
    const result = helmTemplateResult({ values: { webhooks: { trustBundle: { failurePolicy: 'Fail' } } } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /failurePolicy/);
  });
});

describe('what is never reviewed', () => {
  it('no entry reviews DELETE, so anything can always be removed', () => {
    assert.equal(allWebhooks(defaults).length, 7);
    for (const webhook of allWebhooks(defaults)) {
      const operations = webhook.name === TRUST_BUNDLE_ENTRY ? ['UPDATE'] : ['CREATE', 'UPDATE'];
      for (const rule of webhook.rules) assert.deepEqual(rule.operations, operations, webhook.name);
    }
  });

  it('no entry names webhook configurations (the API server never sends them) or uses wildcards', () => {
    assert.equal(allWebhooks(defaults).length, 7);
    for (const webhook of allWebhooks(defaults)) {
      for (const rule of webhook.rules) {
        assert.ok(!rule.resources.some((resource) => resource.includes('webhookconfigurations')), webhook.name);
        assert.ok(![...rule.resources, ...rule.apiGroups, ...rule.apiVersions].includes('*'), webhook.name);
      }
    }
  });

  it('only the control-plane (namespace default) and trust-bundle (dapr-system) entries see Secrets and ConfigMaps', () => {
    const withSecrets = allWebhooks(defaults).filter((webhook) =>
      webhook.rules.some((rule) => rule.resources.includes('secrets') || rule.resources.includes('configmaps')),
    );
    assert.deepEqual(
      withSecrets.map((webhook) => webhook.name),
      ['control-plane.validate.dapr-guard.io', TRUST_BUNDLE_ENTRY],
    );
    const trustBundle = withSecrets[1]?.namespaceSelector?.matchExpressions ?? [];
    assert.ok(
      trustBundle.some(
        (e) =>
          e.key === 'kubernetes.io/metadata.name' &&
          e.operator === 'In' &&
          JSON.stringify(e.values) === '["dapr-system"]',
      ),
    );
    const expressions = withSecrets[0]?.namespaceSelector?.matchExpressions ?? [];
    assert.ok(
      expressions.some(
        (e) =>
          e.key === 'kubernetes.io/metadata.name' && e.operator === 'In' && JSON.stringify(e.values) === '["default"]',
      ),
    );
  });
});

describe('namespaceSelector', () => {
  const clusterScoped = ['cluster.validate.dapr-guard.io', NAMESPACE_LABELS_ENTRY];
  const namespaced = (objects: ReturnType<typeof helmTemplate>): Webhook[] =>
    allWebhooks(objects).filter((webhook) => !clusterScoped.includes(webhook.name));

  it('always excludes kube-system, the release namespace and dapr-guard.io/ignore namespaces', () => {
    for (const webhook of namespaced(defaults)) {
      const expressions = webhook.namespaceSelector?.matchExpressions ?? [];
      assert.deepEqual(
        expressions[0],
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
        webhook.name,
      );
      assert.deepEqual(expressions[1], { key: 'dapr-guard.io/ignore', operator: 'DoesNotExist' }, webhook.name);
    }
  });

  it('follows the release namespace, adds excludeNamespaces and extra expressions', () => {
    const extra = { key: 'environment', operator: 'In', values: ['production'] };
    const objects = helmTemplate({
      namespace: 'policy',
      values: { webhooks: { namespaceSelector: { excludeNamespaces: ['monitoring'], matchExpressions: [extra] } } },
    });
    for (const webhook of namespaced(objects)) {
      const expressions = webhook.namespaceSelector?.matchExpressions ?? [];
      assert.deepEqual(expressions[0]?.values, ['kube-system', 'policy', 'monitoring'], webhook.name);
      assert.deepEqual(expressions.at(-1), extra, webhook.name);
      assert.equal(webhook.clientConfig.service.namespace, 'policy');
    }
  });

  it('selects only webhooks.controlPlane.namespaces for the control-plane entry', () => {
    const objects = helmTemplate({ values: { webhooks: { controlPlane: { namespaces: ['default', 'apps'] } } } });
    const expressions =
      webhookNamed(objects, VALIDATING, 'control-plane.validate.dapr-guard.io').namespaceSelector?.matchExpressions ??
      [];
    assert.deepEqual(expressions[2], {
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: ['default', 'apps'],
    });
  });

  it('is absent on the cluster-scoped entry (it would not apply)', () => {
    assert.equal(webhookNamed(defaults, VALIDATING, 'cluster.validate.dapr-guard.io').namespaceSelector, undefined);
  });
});

describe('objectSelector', () => {
  it('is absent by default', () => {
    assert.equal(allWebhooks(defaults).length, 7);
    for (const webhook of allWebhooks(defaults)) assert.equal(webhook.objectSelector, undefined, webhook.name);
  });

  it("applies webhooks.objectSelector to every entry but namespace-labels (a Namespace's own labels must not exempt it)", () => {
    const selector = { matchExpressions: [{ key: 'dapr-guard.io/skip', operator: 'DoesNotExist' }] };
    const webhooks = allWebhooks(helmTemplate({ values: { webhooks: { objectSelector: selector } } }));
    assert.equal(webhooks.length, 7);
    for (const webhook of webhooks)
      assert.deepEqual(
        webhook.objectSelector,
        webhook.name === NAMESPACE_LABELS_ENTRY ? undefined : selector,
        webhook.name,
      );
  });
});

describe('matchConditions (Kubernetes 1.28+)', () => {
  const filtered = ['mutate.dapr-guard.io', 'workloads.validate.dapr-guard.io'];

  for (const kubeVersion of ['1.20.0', '1.25.3', '1.27.9']) {
    it(`are not rendered for Kubernetes ${kubeVersion}, even when asked for`, () => {
      const extra = [{ name: 'not-bots', expression: "request.userInfo.username != 'bot'" }];
      const objects = helmTemplate({
        kubeVersion,
        values: { webhooks: { mutating: { matchConditions: extra }, daprResources: { matchConditions: extra } } },
      });
      assert.equal(allWebhooks(objects).length, 7);
      for (const webhook of allWebhooks(objects)) assert.equal(webhook.matchConditions, undefined, webhook.name);
    });
  }

  for (const kubeVersion of ['1.28.0', '1.30.2', '1.33.1']) {
    it(`send only Dapr-annotated Pods and workloads on Kubernetes ${kubeVersion}`, () => {
      const objects = helmTemplate({ kubeVersion });
      assert.equal(allWebhooks(objects).length, 7);
      for (const webhook of allWebhooks(objects)) {
        const names = (webhook.matchConditions ?? []).map((condition) => condition.name);
        assert.deepEqual(
          names,
          filtered.includes(webhook.name)
            ? ['dapr-objects-only']
            : webhook.name === NAMESPACE_LABELS_ENTRY
              ? ['guarded-namespace-label-changes']
              : webhook.name === TRUST_BUNDLE_ENTRY
                ? ['dapr-trust-bundle-only']
                : [],
          webhook.name,
        );
      }
    });
  }

  it("look for dapr.io/ annotations on the object, the pod template and a CronJob's pod template, guarded by has()", () => {
    const expression =
      webhookNamed(helmTemplate({ kubeVersion: '1.30.0' }), MUTATING, 'mutate.dapr-guard.io').matchConditions?.[0]
        ?.expression ?? '';
    for (const path of [
      'object.metadata.annotations',
      'object.spec.template.metadata.annotations',
      'object.spec.jobTemplate.spec.template.metadata.annotations',
    ]) {
      assert.ok(expression.includes(`has(${path}) && ${path}.exists(k, k.startsWith('dapr.io/'))`), path);
    }
  });

  it('append per-entry conditions and can drop the Dapr filter', () => {
    const extra = { name: 'not-bots', expression: "request.userInfo.username != 'bot'" };
    const objects = helmTemplate({
      kubeVersion: '1.30.0',
      values: {
        webhooks: {
          daprObjectsOnly: false,
          workloads: { matchConditions: [extra] },
          controlPlane: { matchConditions: [extra] },
        },
      },
    });
    assert.equal(webhookNamed(objects, MUTATING, 'mutate.dapr-guard.io').matchConditions, undefined);
    assert.deepEqual(webhookNamed(objects, VALIDATING, 'workloads.validate.dapr-guard.io').matchConditions, [extra]);
    assert.deepEqual(webhookNamed(objects, VALIDATING, 'control-plane.validate.dapr-guard.io').matchConditions, [
      extra,
    ]);
    assert.deepEqual(webhookNamed(objects, VALIDATING, 'cluster.validate.dapr-guard.io').matchConditions, [extra]);
    assert.equal(webhookNamed(objects, VALIDATING, 'dapr-resources.validate.dapr-guard.io').matchConditions, undefined);
  });
});

describe('caBundle per TLS choice', () => {
  for (const choice of TLS_CHOICE_NAMES) {
    it(`${choice}: every entry has the same client configuration`, () => {
      const webhooks = allWebhooks(helmTemplate({ values: TLS_CHOICES[choice] }));
      assert.equal(webhooks.length, 7);
      const bundles = new Set(webhooks.map((webhook) => webhook.clientConfig.caBundle));
      assert.equal(bundles.size, 1, 'one caBundle for all entries');
      const [bundle] = bundles;
      if (choice === 'generate' || choice === 'existingSecret') assert.ok(bundle !== undefined && bundle.length > 0);
      else assert.equal(bundle, undefined, 'no caBundle in the template: injected at run time');
    });
  }
});
