import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KNOWN_KINDS } from '../../src/admission/kinds.ts';
import type { KubeObject } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import type { MutatingRule } from '../../src/rules/rule.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { ensureRecordAt } from '../../src/rules/support/json.ts';
import { reviewObject, type ObjectReviewResult } from '../../src/webhook/review-object.ts';
import { testPolicy } from '../support/policy.ts';
import { workload } from '../support/workloads.ts';

const policy = testPolicy(configuredRules(buildConfig([], RULE_IDS)));
const UID = '00000000-0000-0000-0000-000000000000';

function reviewed(result: ObjectReviewResult): Extract<ObjectReviewResult, { ok: true }> {
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result;
}

describe('reviewObject: mutate, apply the patch, validate the mutated object', () => {
  it('knows the resource of the 22 kinds of the table (MCPServer among them)', () => {
    assert.equal(KNOWN_KINDS.length, 22);
    assert.ok(KNOWN_KINDS.includes('MCPServer'));
  });

  it('patches a Dapr-enabled Deployment and validates it with the defaults applied', () => {
    const deployment = workload('Deployment', {
      'dapr.io/enabled': 'true',
      'dapr.io/app-id': 'orders',
      'dapr.io/sidecar-cpu-request': '8',
    });
    const result = reviewed(reviewObject(deployment, {}, policy));
    assert.equal(result.decision, 'patched');
    assert.deepEqual(result.mutations, [
      {
        ruleId: 'sidecar-resources',
        mode: 'enforce',
        changes: [
          'dapr.io/sidecar-cpu-limit=8',
          'dapr.io/sidecar-memory-request=250Mi',
          'dapr.io/sidecar-memory-limit=4000Mi',
        ],
      },
    ]);
    assert.deepEqual(result.patch, [
      { op: 'add', path: '/spec/template/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '8' },
      { op: 'add', path: '/spec/template/metadata/annotations/dapr.io~1sidecar-memory-request', value: '250Mi' },
      { op: 'add', path: '/spec/template/metadata/annotations/dapr.io~1sidecar-memory-limit', value: '4000Mi' },
    ]);
    assert.deepEqual(result.violations, [
      {
        ruleId: 'api-token',
        message:
          'Deployment "orders" has no dapr.io/api-token-secret — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token',
        mode: 'warn',
      },
    ]);
    const annotations = (result.mutated['spec'] as { template: { metadata: { annotations: Record<string, string> } } })
      .template.metadata.annotations;
    assert.deepEqual(annotations, {
      'dapr.io/enabled': 'true',
      'dapr.io/app-id': 'orders',
      'dapr.io/sidecar-cpu-request': '8',
      'dapr.io/sidecar-cpu-limit': '8',
      'dapr.io/sidecar-memory-request': '250Mi',
      'dapr.io/sidecar-memory-limit': '4000Mi',
    });
    assert.equal(JSON.stringify(deployment).includes('sidecar-cpu-limit'), false, 'the input object is not changed');
    assert.deepEqual(Object.keys(result.responses.mutate), ['uid', 'allowed', 'patch', 'patchType']);
    assert.equal(result.responses.validate.allowed, true);
    assert.equal(result.responses.validate.warnings?.length, 1);
  });

  it('denies a Component with a plaintext secret, through the validating webhook', () => {
    const component = {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'redis', namespace: 'shop' },
      spec: { type: 'state.redis', version: 'v1', metadata: [{ name: 'redisPassword', value: 'hunter2' }] },
    };
    const result = reviewed(reviewObject(component, {}, policy));
    assert.equal(result.decision, 'denied');
    assert.deepEqual(result.patch, []);
    assert.deepEqual(result.responses.mutate, { uid: UID, allowed: true });
    assert.deepEqual(result.responses.validate, {
      uid: UID,
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 403,
        reason: 'Forbidden',
        message:
          '[component-plaintext-secrets] Component "redis": spec.metadata redisPassword is a plaintext secret — use secretKeyRef: {name: <secret>, key: redisPassword} (Kubernetes Secret or auth.secretStore)',
      },
    });
  });

  // A mutating rule that writes a value the validating rules refuse: only a validation of the mutated
  // object can see it, as the API server's validating webhooks do.
  const writesBadRequest: MutatingRule = {
    id: 'test-writes-bad-request',
    type: 'mutating',
    description: 'test rule',
    defaultMode: 'enforce',
    kinds: ['Pod', 'Deployment'],
    mutate: (copy) => {
      ensureRecordAt(copy, ['spec', 'template', 'metadata', 'annotations'])['dapr.io/sidecar-cpu-request'] = '2';
      return ['dapr.io/sidecar-cpu-request=2'];
    },
  };
  const deployment = workload('Deployment', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-limit': '1' });

  it('validates the object with the patch applied', () => {
    const result = reviewed(reviewObject(deployment, {}, testPolicy([writesBadRequest, sidecarResourceValuesRule()])));
    assert.equal(result.decision, 'denied');
    assert.deepEqual(
      result.violations.map((violation) => violation.ruleId),
      ['sidecar-resource-values'],
    );
  });

  it('validates the original object when the mutation is only audited', () => {
    const audited = testPolicy([writesBadRequest, sidecarResourceValuesRule()], {
      ruleModes: { 'test-writes-bad-request': 'audit' },
    });
    const result = reviewed(reviewObject(deployment, {}, audited));
    assert.equal(result.decision, 'allowed');
    assert.deepEqual(result.patch, []);
    assert.deepEqual(result.violations, []);
    assert.equal(result.mutated, deployment);
    assert.deepEqual(result.mutations, [
      { ruleId: 'test-writes-bad-request', mode: 'audit', changes: ['dapr.io/sidecar-cpu-request=2'] },
    ]);
  });

  it('says why it cannot review an object of an unknown kind or an UPDATE without the old object', () => {
    assert.deepEqual(reviewObject({ apiVersion: 'x/v1', kind: 'Widget', metadata: { name: 'w' } }, {}, policy), {
      ok: false,
      message: 'kind "Widget" is not one dapr-guard knows the resource of',
    });
    assert.deepEqual(reviewObject(deployment, { operation: 'UPDATE' }, policy), {
      ok: false,
      message: 'an UPDATE needs the old object',
    });
  });

  // Found by test/reliability/fuzz.test.ts: a file given to the offline check may hold anything there.
  it('reviews an object whose kind, name or namespace is not a string without throwing', () => {
    const numberKind = JSON.parse('{"apiVersion":"v1","kind":7,"metadata":{"name":"w"}}') as KubeObject;
    assert.deepEqual(reviewObject(numberKind, {}, policy), {
      ok: false,
      message: 'kind "" is not one dapr-guard knows the resource of',
    });
    const component = JSON.parse(
      '{"apiVersion":"dapr.io/v1alpha1","kind":"Component","metadata":{"name":{"a":1},"namespace":["shop"]},' +
        '"spec":{"type":"state.redis","version":"v1","metadata":[{"name":"redisPassword","value":"x"}]}}',
    ) as KubeObject;
    const result = reviewed(reviewObject(component, {}, policy));
    assert.equal(result.decision, 'denied');
    assert.equal(
      result.responses.validate.status?.message,
      '[component-plaintext-secrets] Component "(unnamed)": spec.metadata redisPassword is a plaintext secret — use secretKeyRef: {name: <secret>, key: redisPassword} (Kubernetes Secret or auth.secretStore)',
    );
  });
});
