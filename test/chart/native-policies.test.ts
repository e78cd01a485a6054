/**
 * nativePolicies: the ValidatingAdmissionPolicies and the MutatingAdmissionPolicy the chart renders
 * where the cluster serves them (helm template --api-versions), their bindings per mode, the
 * parameter ConfigMap (generated from src/rules, and checked here against it), and the per-rule
 * choice between policies, webhook or both. Their behaviour on a real API server is in
 * test/e2e/native-policies.e2e.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { NATIVE_POLICY_DATA_FILE, nativePolicyData } from '../../scripts/native-policy-data.ts';
import { helmTemplate, helmTemplateResult, type KubeObject } from '../support/helm.ts';
import { configText, findAll, NAMESPACE } from './objects.ts';

const VAP = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
const MAP = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
const BOTH = [VAP, MAP];
const ENABLED = { nativePolicies: { enabled: true } };

interface Binding extends KubeObject {
  readonly spec: {
    readonly policyName: string;
    readonly validationActions?: readonly string[];
    readonly paramRef: Readonly<Record<string, string>>;
    readonly matchResources: {
      readonly namespaceSelector: { readonly matchExpressions: readonly Readonly<Record<string, unknown>>[] };
      readonly resourceRules?: readonly Readonly<Record<string, unknown>>[];
    };
  };
}

/** The native objects (the namespace-labels guard has no dapr-guard.io/rule label). */
function native(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return findAll(objects, kind).filter((object) => object.metadata?.labels?.['dapr-guard.io/rule'] !== undefined);
}

function names(objects: readonly KubeObject[]): string[] {
  return objects.map((object) => object.metadata?.name ?? '').sort();
}

/** Binding name → its validationActions (or "-" for a mutating binding). */
function actions(objects: readonly KubeObject[], kind: string): Record<string, string> {
  return Object.fromEntries(
    (native(objects, kind) as Binding[]).map((binding) => [
      binding.metadata?.name ?? '',
      (binding.spec.validationActions ?? ['-']).join(','),
    ]),
  );
}

function rulesConfig(objects: readonly KubeObject[]): unknown {
  return (parseYaml(configText(objects)) as { rules?: unknown }).rules;
}

describe('native admission policies in the chart', () => {
  it('keeps the parameter data equal to what scripts/native-policy-data.ts builds from src/rules', () => {
    const committed = JSON.parse(readFileSync(NATIVE_POLICY_DATA_FILE, 'utf8')) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(nativePolicyData())));
  });

  it('renders nothing by default, and nothing where the cluster serves neither kind', () => {
    assert.deepEqual(native(helmTemplate({ apiVersions: BOTH }), 'ValidatingAdmissionPolicy'), []);
    const unserved = helmTemplate({ values: ENABLED });
    assert.deepEqual(
      unserved.filter(
        (object) => /AdmissionPolicy/.test(object.kind ?? '') || object.metadata?.name?.endsWith('-native-policies'),
      ),
      [],
    );
    assert.deepEqual(rulesConfig(unserved), {
      'sidecar-resources': {
        defaults: {},
      },
    });
  });

  it('renders the validating policies on 1.30+ and the mutating one only where it is served (1.36+)', () => {
    const vapOnly = helmTemplate({ values: ENABLED, apiVersions: [VAP] });
    assert.deepEqual(names(native(vapOnly, 'ValidatingAdmissionPolicy')), [
      'dapr-guard-component-empty-secrets',
      'dapr-guard-component-plaintext-secrets',
      'dapr-guard-control-plane-namespace',
      'dapr-guard-control-plane-namespace-existing',
      'dapr-guard-mtls-enabled',
      'dapr-guard-sidecar-resource-values',
    ]);
    assert.deepEqual(native(vapOnly, 'MutatingAdmissionPolicy'), []);
    const both = helmTemplate({ values: ENABLED, apiVersions: BOTH });
    assert.deepEqual(names(native(both, 'MutatingAdmissionPolicy')), ['dapr-guard-sidecar-resources']);
    assert.deepEqual(names(findAll(both, 'ConfigMap')), ['dapr-guard-config', 'dapr-guard-native-policies']);
  });

  it('binds each policy once per mode: Deny in enforce, Warn for warn-capped findings and warn namespaces, Audit for audit ones', () => {
    const objects = helmTemplate({ values: ENABLED, apiVersions: BOTH });
    const validating = actions(objects, 'ValidatingAdmissionPolicyBinding');
    assert.equal(Object.keys(validating).length, 24);
    assert.deepEqual(Object.fromEntries(Object.entries(validating).filter(([name]) => name.includes('component-'))), {
      'dapr-guard-component-plaintext-secrets': 'Deny',
      'dapr-guard-component-plaintext-secrets-ns-enforce': 'Deny',
      'dapr-guard-component-plaintext-secrets-ns-warn': 'Warn',
      'dapr-guard-component-plaintext-secrets-ns-audit': 'Audit',
      'dapr-guard-component-empty-secrets': 'Warn',
      'dapr-guard-component-empty-secrets-ns-enforce': 'Warn',
      'dapr-guard-component-empty-secrets-ns-warn': 'Warn',
      'dapr-guard-component-empty-secrets-ns-audit': 'Audit',
    });
    // An audited mutation is not applied: no binding for namespaces labelled audit.
    assert.deepEqual(actions(objects, 'MutatingAdmissionPolicyBinding'), {
      'dapr-guard-sidecar-resources': '-',
      'dapr-guard-sidecar-resources-ns-enforce': '-',
      'dapr-guard-sidecar-resources-ns-warn': '-',
    });
    const warnLabelled = (native(objects, 'ValidatingAdmissionPolicyBinding') as Binding[]).find(
      (binding) => binding.metadata?.name === 'dapr-guard-mtls-enabled-ns-warn',
    );
    assert.deepEqual(warnLabelled?.spec.matchResources.namespaceSelector.matchExpressions.at(-1), {
      key: 'dapr-guard.io/mode',
      operator: 'In',
      values: ['warn'],
    });
    assert.deepEqual(warnLabelled?.spec.matchResources.resourceRules, [
      { apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
    ]);
    assert.deepEqual(warnLabelled?.spec.paramRef, {
      name: 'dapr-guard-native-policies',
      namespace: NAMESPACE,
      parameterNotFoundAction: 'Deny',
    });
  });

  it('follows the global and per-rule modes, and a single binding with namespaceModes.source off', () => {
    const objects = helmTemplate({
      values: {
        ...ENABLED,
        mode: 'warn',
        rules: { 'mtls-enabled': { mode: 'audit' } },
        namespaceModes: { source: 'off' },
      },
      apiVersions: BOTH,
    });
    const validating = actions(objects, 'ValidatingAdmissionPolicyBinding');
    assert.deepEqual(Object.keys(validating).length, 6);
    assert.equal(validating['dapr-guard-mtls-enabled'], 'Audit');
    assert.equal(validating['dapr-guard-component-plaintext-secrets'], 'Warn');
    assert.deepEqual(actions(objects, 'MutatingAdmissionPolicyBinding'), { 'dapr-guard-sidecar-resources': '-' });
  });

  it('writes the sidecar defaults of rules.sidecar-resources into the parameter ConfigMap', () => {
    const objects = helmTemplate({
      values: { ...ENABLED, rules: { 'sidecar-resources': { defaults: { cpuLimit: '2', memoryRequest: '300Mi' } } } },
      apiVersions: BOTH,
    });
    const data = findAll(objects, 'ConfigMap').find(
      (object) => object.metadata?.name === 'dapr-guard-native-policies',
    )?.['data'] as Record<string, string>;
    assert.deepEqual(
      {
        cpuRequest: data['cpuRequest'],
        cpuLimit: data['cpuLimit'],
        memoryRequest: data['memoryRequest'],
        memoryLimit: data['memoryLimit'],
      },
      { cpuRequest: '100m', cpuLimit: '2', memoryRequest: '300Mi', memoryLimit: '4000Mi' },
    );
    assert.equal(data['sensitive.state.redis'], nativePolicyData().sensitiveFields['state.redis']?.join(','));
    assert.equal(data['credentialTerms'], nativePolicyData().credentialTerms.join(','));
  });

  it('takes the figures of the guideline profile, each still overridable', () => {
    const parameters = (values: Record<string, unknown>): Record<string, string | undefined> => {
      const data = findAll(helmTemplate({ values: { ...ENABLED, ...values }, apiVersions: BOTH }), 'ConfigMap').find(
        (object) => object.metadata?.name === 'dapr-guard-native-policies',
      )?.['data'] as Record<string, string>;
      return { cpuLimit: data['cpuLimit'], memoryLimit: data['memoryLimit'] };
    };
    assert.deepEqual(parameters({ guidelines: 'dapr-1.13' }), { cpuLimit: '300m', memoryLimit: '1000Mi' });
    assert.deepEqual(
      parameters({ guidelines: 'dapr-1.13', rules: { 'sidecar-resources': { defaults: { cpuLimit: '1' } } } }),
      { cpuLimit: '1', memoryLimit: '1000Mi' },
    );
  });

  it('per rule: webhook renders no policy, policies turns the rule off in the server where the policy is rendered', () => {
    const values = {
      nativePolicies: {
        enabled: true,
        rules: {
          'mtls-enabled': 'webhook',
          'sidecar-resources': 'policies',
          'component-plaintext-secrets': 'policies',
        },
      },
    };
    const vapOnly = helmTemplate({ values, apiVersions: [VAP] });
    assert.ok(!names(native(vapOnly, 'ValidatingAdmissionPolicy')).includes('dapr-guard-mtls-enabled'));
    // No MutatingAdmissionPolicy here, so the webhook keeps sidecar-resources.
    assert.deepEqual(rulesConfig(vapOnly), {
      'component-plaintext-secrets': { enabled: false },
      'sidecar-resources': {
        defaults: {},
      },
    });
    const both = helmTemplate({ values, apiVersions: BOTH });
    assert.deepEqual(rulesConfig(both), {
      'component-plaintext-secrets': { enabled: false },
      'sidecar-resources': {
        enabled: false,
        defaults: {},
      },
    });
  });

  it('renders no policy for a disabled rule', () => {
    const objects = helmTemplate({
      values: { ...ENABLED, rules: { 'sidecar-resource-values': { enabled: false } } },
      apiVersions: BOTH,
    });
    assert.ok(!names(native(objects, 'ValidatingAdmissionPolicy')).includes('dapr-guard-sidecar-resource-values'));
  });

  it('gives every policy and binding a name of its own, also with the longest configuration name', () => {
    const configurationName = `dapr-guard-${'x'.repeat(52)}`;
    const objects = helmTemplate({ values: { ...ENABLED, webhooks: { configurationName } }, apiVersions: BOTH });
    const policyObjects = objects.filter((object) => /AdmissionPolicy/.test(object.kind ?? ''));
    assert.equal(policyObjects.length, 1 + 1 + 6 + 24 + 1 + 3);
    const keys = policyObjects.map((object) => `${object.kind ?? ''}/${object.metadata?.name ?? ''}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(keys.includes(`ValidatingAdmissionPolicy/${configurationName}-control-plane-namespace-existing`));
  });

  it('refuses an unknown choice or rule id', () => {
    for (const rules of [{ 'mtls-enabled': 'sometimes' }, { 'api-token': 'policies' }]) {
      const result = helmTemplateResult({ values: { nativePolicies: { enabled: true, rules } } });
      assert.equal(result.ok, false, JSON.stringify(rules));
      assert.match(result.stderr, /nativePolicies/);
    }
  });
});
