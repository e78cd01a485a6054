/**
 * The guard of the namespace opt-out labels (dapr-guard.io/ignore, dapr-guard.io/mode) and who may
 * opt out: the webhook entry, the ValidatingAdmissionPolicy on clusters that serve it, and the
 * exemptions values as the server reads them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { buildConfig, type ConfigLayer } from '../../src/config/config.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { helmTemplate, helmTemplateResult, type KubeObject } from '../support/helm.ts';
import { configText, findAll, webhookNamed } from './objects.ts';

const VAP_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
const ENTRY = 'namespace-labels.validate.dapr-guard.io';
const MESSAGE =
  '[namespace-labels] adding, changing or removing the dapr-guard.io/ignore and dapr-guard.io/mode labels of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it';

const unchanged = (label: string): string =>
  `((has(object.metadata.labels) && '${label}' in object.metadata.labels) == (oldObject != null && has(oldObject.metadata.labels) && '${label}' in oldObject.metadata.labels)` +
  ` && (!(has(object.metadata.labels) && '${label}' in object.metadata.labels) || object.metadata.labels['${label}'] == oldObject.metadata.labels['${label}']))`;
const LABELS_UNCHANGED = `${unchanged('dapr-guard.io/ignore')} && ${unchanged('dapr-guard.io/mode')}`;

function policyObjects(objects: readonly KubeObject[]): {
  policy: KubeObject | undefined;
  binding: KubeObject | undefined;
} {
  return {
    policy: findAll(objects, 'ValidatingAdmissionPolicy')[0],
    binding: findAll(objects, 'ValidatingAdmissionPolicyBinding')[0],
  };
}

describe('namespace-labels webhook entry', () => {
  it("sends Namespace CREATE and UPDATE to /validate, with no selector that the Namespace's own labels could satisfy", () => {
    const entry = webhookNamed(helmTemplate(), 'ValidatingWebhookConfiguration', ENTRY);
    assert.deepEqual(entry.rules, [
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['namespaces'],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Cluster',
      },
    ]);
    assert.equal(entry.clientConfig.service.path, '/validate');
    assert.equal(entry.namespaceSelector, undefined);
    assert.equal(entry.objectSelector, undefined);
    assert.equal(entry.failurePolicy, 'Ignore');
  });

  it('on 1.28+ only sends the changes of a guarded label, with the CEL the policy uses', () => {
    const entry = webhookNamed(helmTemplate({ kubeVersion: '1.28.0' }), 'ValidatingWebhookConfiguration', ENTRY);
    assert.deepEqual(entry.matchConditions, [
      { name: 'guarded-namespace-label-changes', expression: `!(${LABELS_UNCHANGED})` },
    ]);
    assert.equal(
      webhookNamed(helmTemplate({ kubeVersion: '1.27.9' }), 'ValidatingWebhookConfiguration', ENTRY).matchConditions,
      undefined,
    );
  });

  it('follows webhooks.namespaceLabels', () => {
    const objects = helmTemplate({
      values: { webhooks: { namespaceLabels: { failurePolicy: 'Fail', timeoutSeconds: 7 } } },
    });
    const entry = webhookNamed(objects, 'ValidatingWebhookConfiguration', ENTRY);
    assert.equal(entry.failurePolicy, 'Fail');
    assert.equal(entry.timeoutSeconds, 7);
    const off = helmTemplate({ values: { webhooks: { namespaceLabels: { enabled: false } } } });
    const names = findAll(off, 'ValidatingWebhookConfiguration').flatMap((object) =>
      (object['webhooks'] as { name: string }[]).map((webhook) => webhook.name),
    );
    assert.equal(names.length, 5);
    assert.ok(!names.includes(ENTRY));
  });

  it('refuses a bad failurePolicy', () => {
    const result = helmTemplateResult({ values: { webhooks: { namespaceLabels: { failurePolicy: 'Maybe' } } } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /namespaceLabels/);
  });
});

describe('namespace-labels ValidatingAdmissionPolicy', () => {
  it('is not rendered where the cluster does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy', () => {
    for (const kubeVersion of ['1.20.2', '1.29.0', '1.30.0']) {
      const { policy, binding } = policyObjects(helmTemplate({ kubeVersion }));
      assert.equal(policy, undefined, kubeVersion);
      assert.equal(binding, undefined, kubeVersion);
    }
  });

  it('refuses label changes by anyone outside exemptions.allowedGroups, in the API server', () => {
    const { policy, binding } = policyObjects(helmTemplate({ kubeVersion: '1.30.0', apiVersions: [VAP_API] }));
    assert.deepEqual(policy?.metadata?.name, 'dapr-guard-namespace-labels');
    assert.deepEqual(policy?.['spec'], {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['CREATE', 'UPDATE'] },
        ],
      },
      variables: [
        { name: 'allowedUser', expression: 'request.userInfo.groups.exists(group, group in ["system:masters"])' },
        { name: 'guardedLabelsUnchanged', expression: LABELS_UNCHANGED },
      ],
      validations: [
        {
          expression: 'variables.allowedUser || variables.guardedLabelsUnchanged',
          message: MESSAGE,
          reason: 'Forbidden',
        },
      ],
    });
    assert.deepEqual(binding?.['spec'], { policyName: 'dapr-guard-namespace-labels', validationActions: ['Deny'] });
  });

  it('allows the configured groups', () => {
    const values = { exemptions: { allowedGroups: ['platform-operators', 'oidc:sre'] } };
    const { policy } = policyObjects(helmTemplate({ kubeVersion: '1.33.0', apiVersions: [VAP_API], values }));
    const variables = (policy?.['spec'] as { variables: { name: string; expression: string }[] }).variables;
    assert.deepEqual(variables[0], {
      name: 'allowedUser',
      expression: 'request.userInfo.groups.exists(group, group in ["platform-operators","oidc:sre"])',
    });
  });

  for (const [mode, action] of [
    ['enforce', 'Deny'],
    ['warn', 'Warn'],
    ['audit', 'Audit'],
  ] as const) {
    it(`binds with ${action} in mode ${mode}`, () => {
      const { binding } = policyObjects(
        helmTemplate({ kubeVersion: '1.30.0', apiVersions: [VAP_API], values: { mode } }),
      );
      assert.deepEqual((binding?.['spec'] as { validationActions: string[] }).validationActions, [action]);
    });
  }

  it('is left out with webhooks.namespaceLabels.admissionPolicy false', () => {
    const { policy, binding } = policyObjects(
      helmTemplate({
        kubeVersion: '1.30.0',
        apiVersions: [VAP_API],
        values: { webhooks: { namespaceLabels: { admissionPolicy: false } } },
      }),
    );
    assert.equal(policy, undefined);
    assert.equal(binding, undefined);
  });
});

describe('exemptions values reach the server', () => {
  it('defaults: system:masters, every namespace', () => {
    const config = buildConfig([parseYaml(configText(helmTemplate())) as ConfigLayer], RULE_IDS);
    assert.deepEqual(config.exemptions, { enabled: true, allowedGroups: ['system:masters'], namespaces: [] });
  });

  it('configured groups and namespaces', () => {
    const values = { exemptions: { allowedGroups: ['platform-operators'], namespaces: ['legacy-apps'] } };
    const config = buildConfig([parseYaml(configText(helmTemplate({ values }))) as ConfigLayer], RULE_IDS);
    assert.deepEqual(config.exemptions, {
      enabled: true,
      allowedGroups: ['platform-operators'],
      namespaces: ['legacy-apps'],
    });
  });
});
