import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { apiTokenRule } from '../../src/rules/api-token.ts';
import { componentPlaintextSecretsRule } from '../../src/rules/component-plaintext-secrets.ts';
import { controlPlaneNamespaceRule } from '../../src/rules/control-plane-namespace.ts';
import { controlPlaneResourcesRule } from '../../src/rules/control-plane-resources.ts';
import { mtlsEnabledRule } from '../../src/rules/mtls-enabled.ts';
import { observabilityRule } from '../../src/rules/observability.ts';
import type { ValidatingRule } from '../../src/rules/rule.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { workload } from '../support/workloads.ts';

/** What must never reach a message raw: C0, DEL, C1, U+2028/2029, bidi controls, lone surrogates. */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- control characters are what this matches
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

/** The review's (2026-12, §13) forged names: each tries to start a line of its own or reorder the text. */
const FORGED_COMPONENT = 'st\u00f6re-\u{1F600}-\u202e-\u0000\n[mtls-enabled] forged';
const FORGED_FIELD = 'pass\u202eword\nx';
const FORGED_CONFIGURATION = 'a\u2028[mtls-enabled] forged';

const K8S = ' (Kubernetes Secret or auth.secretStore)';

interface Case {
  readonly name: string;
  readonly rule: ValidatingRule;
  readonly object: KubeObject;
  readonly expected: readonly string[];
}

function messages(rule: ValidatingRule, object: KubeObject): string[] {
  return evaluate(admissionRequest(object), testPolicy([rule]), 'validate').violations.map((violation) =>
    formatMessage(violation),
  );
}

const CASES: readonly Case[] = [
  {
    name: 'component-plaintext-secrets: the forged Component and field names',
    rule: componentPlaintextSecretsRule(),
    object: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: FORGED_COMPONENT, namespace: 'shop' },
      spec: {
        type: 'state.redis',
        version: 'v1',
        metadata: [{ name: FORGED_FIELD, value: 'redis://:SECRET-ESC1@redis:6379' }],
      },
    },
    expected: [
      `[component-plaintext-secrets] Component "st\u00f6re-\u{1F600}-\\u202e-\\u0000\\n[mtls-enabled] forged": spec.metadata[0] has credentials in a URL — use secretKeyRef: {name: <secret>, key: <key>}${K8S}`,
    ],
  },
  {
    name: 'mtls-enabled: a name with U+2028',
    rule: mtlsEnabledRule(),
    object: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: FORGED_CONFIGURATION, namespace: 'shop' },
      spec: { mtls: { enabled: false } },
    },
    expected: [
      '[mtls-enabled] Configuration "a\\u2028[mtls-enabled] forged" sets spec.mtls.enabled: false (only daprsystem in the control-plane namespace takes effect, but disabled mTLS is refused everywhere) — set spec.mtls.enabled to true',
    ],
  },
  {
    name: 'observability: a name with U+0085 (NEL)',
    rule: observabilityRule(),
    object: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'obs\u0085[mtls-enabled] forged', namespace: 'shop' },
      spec: { metric: { enabled: false } },
    },
    expected: [
      '[observability] Configuration "obs\\u0085[mtls-enabled] forged" sets spec.metric.enabled: false, so its sidecars export no metrics — remove it or set spec.metric.enabled to true',
    ],
  },
  {
    name: 'api-token: a Pod name with U+202E',
    rule: apiTokenRule(),
    object: workload('Pod', { 'dapr.io/enabled': 'true' }, { name: 'orders\u202e' }),
    expected: [
      '[api-token] Pod "orders\\u202e" has no dapr.io/api-token-secret — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token',
    ],
  },
  {
    name: 'sidecar-resource-values: an annotation value with U+2029 and DEL',
    rule: sidecarResourceValuesRule(),
    object: workload('Deployment', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-memory-limit': '4000Mi\u2029\u007f' }),
    expected: [
      '[sidecar-resource-values] dapr.io/sidecar-memory-limit "4000Mi\\u2029\\u007f" is not a Kubernetes quantity — use a value such as "512Mi" or "1Gi"; Dapr ignores all four sidecar resource annotations when one is invalid',
    ],
  },
  {
    name: 'control-plane-resources: a container name with bidi isolates',
    rule: controlPlaneResourcesRule(),
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'dapr-operator', namespace: 'dapr-system', labels: { app: 'dapr-operator' } },
      spec: {
        replicas: 3,
        template: {
          metadata: { labels: { app: 'dapr-operator' } },
          spec: { containers: [{ name: 'op\u2066x\u2069', image: 'ghcr.io/dapr/operator:1.16.0' }] },
        },
      },
    },
    expected: [
      '[control-plane-resources] Deployment "dapr-operator", container "op\\u2066x\\u2069": no cpu request, cpu limit, memory request, memory limit — use requests cpu 100m, memory 20Mi; limits cpu 1, memory 200Mi',
    ],
  },
  {
    name: 'control-plane-namespace: a ServiceAccount name with U+200E and a quote',
    rule: controlPlaneNamespaceRule(),
    object: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'dapr-sentry' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'dapr-sentry' },
      subjects: [{ kind: 'ServiceAccount', name: 'x\u200e"y', namespace: 'default' }],
    },
    expected: [
      '[control-plane-namespace] Dapr ClusterRoleBinding "dapr-sentry" grants cluster rights to ServiceAccount "default/x\\u200e\\"y" — install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace',
    ],
  },
];

describe('user text in messages is escaped', () => {
  it('covers every validating rule that quotes user text', () => assert.equal(CASES.length, 7));

  for (const { name, rule, object, expected } of CASES) {
    it(name, () => {
      const found = messages(rule, object);
      assert.deepEqual(found, expected);
      for (const message of found) {
        assert.doesNotMatch(message, INVISIBLE);
        assert.ok(message.length <= MAX_WARNING_LENGTH, message);
        assert.ok(!message.includes('SECRET-'), message);
      }
    });
  }
});
