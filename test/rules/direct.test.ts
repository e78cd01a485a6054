/**
 * Every rule called directly, without the policy: the rule tests next to this file go through
 * `evaluate` (exemptions, modes, the patch), so a bug in `evaluate` would fail all of them at once;
 * here each rule's own output is pinned, and `evaluate` is checked to pass it through unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { apiTokenRule } from '../../src/rules/api-token.ts';
import { componentPlaintextSecretsRule } from '../../src/rules/component-plaintext-secrets.ts';
import { controlPlaneNamespaceRule } from '../../src/rules/control-plane-namespace.ts';
import { controlPlaneResourcesRule } from '../../src/rules/control-plane-resources.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { mtlsEnabledRule } from '../../src/rules/mtls-enabled.ts';
import { observabilityRule } from '../../src/rules/observability.ts';
import type { MutableObject, Rule, RuleContext, ValidatingRule } from '../../src/rules/rule.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { cloneJson } from '../../src/admission/json-clone.ts';
import { fixtureText, yamlObjects } from '../support/fixtures.ts';
import { sidecarResourcesAppliedRule } from '../../src/rules/sidecar-resources-applied.ts';
import { trustBundlePreservedRule } from '../../src/rules/trust-bundle-preserved.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { workload } from '../support/workloads.ts';

/** The context `evaluate` builds for a rule (the request's namespace, else the object's). */
function contextOf(request: AdmissionRequest): RuleContext {
  const object = request.object ?? {};
  return {
    request,
    object,
    oldObject: request.oldObject,
    namespace: request.namespace || object.metadata?.namespace || undefined,
  };
}

function renderedObject(file: string, kind: string, name: string): KubeObject {
  const found = yamlObjects(`dapr-manifests/rendered/${file}`).find(
    (object) => object.kind === kind && object.metadata?.name === name,
  );
  assert.ok(found, `${file} has no ${kind} ${name}`);
  return found;
}

const HA = 'run 3 for high availability: upgrade Dapr with --set global.ha.enabled=true';

const trustBundle = (root: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'dapr-trust-bundle', namespace: 'dapr-system' },
  data: { 'ca.crt': fixtureText(`trust-bundle/${root}`) },
});

const VALIDATING: ReadonlyArray<{
  readonly rule: ValidatingRule;
  readonly object: () => KubeObject;
  /** An UPDATE from this stored object; else a CREATE. */
  readonly oldObject?: () => KubeObject;
  readonly messages: readonly string[];
}> = [
  {
    rule: sidecarResourceValuesRule(),
    object: () =>
      workload('Pod', {
        'dapr.io/enabled': 'true',
        'dapr.io/sidecar-cpu-request': '2',
        'dapr.io/sidecar-cpu-limit': '1',
      }),
    messages: [
      'dapr.io/sidecar-cpu-request "2" is above dapr.io/sidecar-cpu-limit "1" — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd cpu request exceeds its limit',
    ],
  },
  {
    rule: sidecarResourcesAppliedRule(),
    object: () => ({
      ...workload('Pod', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-memory-limit': '1000Mi' }),
      spec: { containers: [{ name: 'app' }, { name: 'daprd', resources: { limits: { memory: '4000Mi' } } }] },
    }),
    messages: [
      'Pod "orders": daprd lacks the memory limit its dapr.io/sidecar-* annotations ask for: set after dapr-sidecar-injector ran — set them in the pod template and recreate the Pod',
    ],
  },
  {
    rule: trustBundlePreservedRule(),
    object: () => trustBundle('root-b.crt'),
    oldObject: () => trustBundle('root-a.crt'),
    messages: [
      'ConfigMap dapr-trust-bundle drops its root CA — carry it over: dapr mtls export; helm upgrade … --set-file dapr_sentry.tls.root.certPEM=ca.crt,dapr_sentry.tls.issuer.certPEM=issuer.crt,dapr_sentry.tls.issuer.keyPEM=issuer.key',
    ],
  },
  {
    rule: apiTokenRule(),
    object: () => workload('Deployment', { 'dapr.io/enabled': 'true' }),
    messages: [
      'Deployment "orders" has no dapr.io/api-token-secret — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token',
    ],
  },
  {
    rule: controlPlaneNamespaceRule(),
    object: () => renderedObject('default-ns.yaml', 'PodDisruptionBudget', 'dapr-scheduler-server-disruption-budget'),
    messages: [
      'Dapr control-plane PodDisruptionBudget "dapr-scheduler-server-disruption-budget" must not be in namespace "default" — install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace',
    ],
  },
  {
    rule: controlPlaneResourcesRule(),
    object: () => renderedObject('dapr-system.yaml', 'Deployment', 'dapr-operator'),
    messages: [
      `Deployment "dapr-operator" runs 1 replica — ${HA}`,
      'Deployment "dapr-operator", container "dapr-operator": no cpu request, cpu limit, memory request, memory limit — use requests cpu 100m, memory 20Mi; limits cpu 1, memory 200Mi',
    ],
  },
  {
    rule: componentPlaintextSecretsRule(),
    object: () => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'redis', namespace: 'shop' },
      spec: { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', value: 'hunter2' }] },
    }),
    messages: [
      'Component "redis": spec.metadata redisPassword is a plaintext secret — use secretKeyRef: {name: <secret>, key: redisPassword} (Kubernetes Secret or auth.secretStore)',
    ],
  },
  {
    rule: mtlsEnabledRule(),
    object: () => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'daprsystem', namespace: 'dapr-system' },
      spec: { mtls: { enabled: false } },
    }),
    messages: [
      'Configuration "daprsystem" sets spec.mtls.enabled: false (in the control-plane namespace this turns off mTLS for every Dapr sidecar) — set spec.mtls.enabled to true',
    ],
  },
  {
    rule: observabilityRule(),
    object: () => ({
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'appconfig', namespace: 'shop' },
      spec: { metric: { enabled: false } },
    }),
    messages: [
      'Configuration "appconfig" sets spec.metric.enabled: false, so its sidecars export no metrics — remove it or set spec.metric.enabled to true',
    ],
  },
];

describe('each rule called directly', () => {
  it('covers all 10 rules: 9 validating here, the mutating one below', () => {
    assert.equal(VALIDATING.length, 9);
    assert.deepEqual([...VALIDATING.map((entry) => entry.rule.id), 'sidecar-resources'].sort(), [...RULE_IDS].sort());
  });

  for (const { rule, object, oldObject, messages } of VALIDATING) {
    it(`${rule.id}: the same findings directly and through evaluate`, () => {
      const request = admissionRequest(
        object(),
        oldObject === undefined ? {} : { operation: 'UPDATE', oldObject: oldObject() },
      );
      const direct = rule.validate(contextOf(request)).map((finding) => finding.message);
      assert.deepEqual(direct, messages);
      const through = evaluate(request, testPolicy([rule as Rule]), 'validate').violations.map(
        (violation) => violation.message,
      );
      assert.deepEqual(through, messages);
    });
  }

  it('sidecar-resources: mutate changes the copy and describes each change; evaluate turns them into the patch', () => {
    const rule = sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES);
    const request = admissionRequest(workload('Pod', { 'dapr.io/enabled': 'true' }));
    const context = contextOf(request);
    const copy = cloneJson(context.object) as MutableObject;
    assert.deepEqual(rule.scope?.(copy, context), ['metadata', 'annotations']);
    const changes = [
      'dapr.io/sidecar-cpu-request=100m',
      'dapr.io/sidecar-cpu-limit=4',
      'dapr.io/sidecar-memory-request=250Mi',
      'dapr.io/sidecar-memory-limit=4000Mi',
    ];
    assert.deepEqual(rule.mutate(copy, context), changes);
    assert.deepEqual((copy['metadata'] as { annotations: Record<string, string> }).annotations, {
      'dapr.io/enabled': 'true',
      'dapr.io/sidecar-cpu-request': '100m',
      'dapr.io/sidecar-cpu-limit': '4',
      'dapr.io/sidecar-memory-request': '250Mi',
      'dapr.io/sidecar-memory-limit': '4000Mi',
    });
    assert.equal(
      JSON.stringify(request.object).includes('sidecar-cpu-limit'),
      false,
      'the request object is left alone',
    );
    const evaluation = evaluate(request, testPolicy([rule]), 'mutate');
    assert.deepEqual(evaluation.mutations, [{ ruleId: 'sidecar-resources', mode: 'enforce', changes }]);
    assert.equal(evaluation.patch.length, 4);
  });
});
