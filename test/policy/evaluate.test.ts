import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject, AdmissionRequest, AdmissionReview } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { ValidatingRule } from '../../src/rules/rule.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { jsonFixture } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';

/** A validating rule that finds one thing in every object labelled `bad: "true"`. */
function labelRule(id: string, defaultMode: 'enforce' | 'warn' = 'enforce', maxMode?: 'warn'): ValidatingRule {
  return {
    id,
    type: 'validating',
    description: 'test rule',
    defaultMode,
    kinds: ['Pod', 'Deployment', 'Component'],
    validate: (context) =>
      context.object.metadata?.labels?.['bad'] === 'true'
        ? [
            {
              message: `${context.object.metadata.name ?? ''} is bad — remove the label`,
              ...(maxMode === undefined ? {} : { maxMode }),
            },
          ]
        : [],
  };
}

const bad = (
  name: string,
  annotations: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'team-a', labels: { bad: 'true' }, annotations, ...extra },
});
const daprPod = (annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'team-a', annotations: { 'dapr.io/enabled': 'true', ...annotations } },
});
const sidecar = sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES);

describe('evaluate', () => {
  test('validating rules run on /validate only, mutating rules on /mutate only', () => {
    const policy = testPolicy([labelRule('a'), sidecar]);
    const validated = evaluate(admissionRequest(bad('cm')), policy, 'validate');
    assert.deepEqual(validated.violations, [{ ruleId: 'a', message: 'cm is bad — remove the label', mode: 'enforce' }]);
    assert.deepEqual(validated.mutations, []);
    const mutated = evaluate(admissionRequest(daprPod()), policy, 'mutate');
    assert.deepEqual(mutated.violations, []);
    assert.equal(mutated.patch.length, 4);
  });

  for (const operation of ['DELETE', 'CONNECT'] as const) {
    test(`${operation} is allowed without running rules`, () => {
      const request = { ...admissionRequest(bad('cm')), operation, oldObject: bad('cm') };
      assert.deepEqual(evaluate(request, testPolicy([labelRule('a')]), 'validate').violations, []);
    });
  }

  test('UPDATE gives rules the object and oldObject', () => {
    const seen: unknown[] = [];
    const spy: ValidatingRule = {
      id: 'spy',
      type: 'validating',
      description: '',
      defaultMode: 'enforce',
      kinds: ['Pod', 'Deployment', 'Component'],
      validate: (context) => (seen.push(context.oldObject), []),
    };
    evaluate(
      admissionRequest(bad('new'), { operation: 'UPDATE', oldObject: bad('old') }),
      testPolicy([spy]),
      'validate',
    );
    assert.deepEqual(seen, [bad('old')]);
  });

  test('subresource requests and objects being deleted pass without rules', () => {
    const status = {
      ...admissionRequest(bad('cm'), { operation: 'UPDATE', oldObject: bad('cm') }),
      subResource: 'status',
    };
    assert.deepEqual(evaluate(status, testPolicy([labelRule('a')]), 'validate').violations, []);
    const deleting = bad('cm', {}, { deletionTimestamp: '2026-11-27T05:00:00Z' });
    assert.deepEqual(
      evaluate(
        admissionRequest(deleting, { operation: 'UPDATE', oldObject: deleting }),
        testPolicy([labelRule('a')]),
        'validate',
      ).violations,
      [],
    );
  });

  test('a CREATE carrying deletionTimestamp still gets the mutating rules (the API server clears the field after mutation)', () => {
    const created = { ...daprPod(), metadata: { ...daprPod().metadata, deletionTimestamp: '2030-01-01T00:00:00Z' } };
    const evaluation = evaluate(admissionRequest(created), testPolicy([sidecar]), 'mutate');
    assert.deepEqual(evaluation.patch, evaluate(admissionRequest(daprPod()), testPolicy([sidecar]), 'mutate').patch);
    assert.equal(evaluation.patch.length, 4);
    assert.deepEqual(
      evaluate(
        admissionRequest(bad('cm', {}, { deletionTimestamp: '2030-01-01T00:00:00Z' })),
        testPolicy([labelRule('a')]),
        'validate',
      ).violations.length,
      1,
    );
  });

  test('a subResource that is not a string is no subresource', () => {
    const request = { ...admissionRequest(bad('cm')), subResource: null } as unknown as AdmissionRequest;
    assert.deepEqual(evaluate(request, testPolicy([labelRule('a')]), 'validate').violations, [
      { ruleId: 'a', message: 'cm is bad — remove the label', mode: 'enforce' },
    ]);
  });

  test('the namespace comes from request.namespace when the object has none', () => {
    const object = { ...bad('cm'), metadata: { name: 'cm', labels: { bad: 'true' } } };
    const policy = testPolicy([labelRule('a')], { namespaceModes: { 'team-a': 'audit' } });
    const evaluation = evaluate(admissionRequest(object, { namespace: 'team-a' }), policy, 'validate');
    assert.equal(evaluation.scopeMode, 'audit');
    assert.equal(evaluation.violations[0]?.mode, 'audit');
  });

  test('a finding capped at warn is warned even when the rule enforces', () => {
    const evaluation = evaluate(
      admissionRequest(bad('cm')),
      testPolicy([labelRule('a', 'enforce', 'warn')]),
      'validate',
    );
    assert.equal(evaluation.violations[0]?.mode, 'warn');
  });

  test('per-rule modes, rule defaults and namespace labels combine per rule', () => {
    const policy = testPolicy([labelRule('strict'), labelRule('advice', 'warn'), labelRule('quiet')], {
      ruleModes: { quiet: 'audit' },
    });
    const modes = evaluate(admissionRequest(bad('cm')), policy, 'validate').violations.map((violation) => [
      violation.ruleId,
      violation.mode,
    ]);
    assert.deepEqual(modes, [
      ['strict', 'enforce'],
      ['advice', 'warn'],
      ['quiet', 'audit'],
    ]);
  });

  test('in audit mode a mutation is described, not applied', () => {
    const evaluation = evaluate(admissionRequest(daprPod()), testPolicy([sidecar], { globalMode: 'audit' }), 'mutate');
    assert.deepEqual(evaluation.patch, []);
    assert.deepEqual(evaluation.mutations, [
      {
        ruleId: 'sidecar-resources',
        mode: 'audit',
        changes: [
          'dapr.io/sidecar-cpu-request=100m',
          'dapr.io/sidecar-cpu-limit=4',
          'dapr.io/sidecar-memory-request=250Mi',
          'dapr.io/sidecar-memory-limit=4000Mi',
        ],
      },
    ]);
  });

  test('the request object is never modified', () => {
    const recorded = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json');
    const request = recorded.request;
    assert.ok(request !== undefined);
    const before = structuredClone(request);
    evaluate(request, testPolicy([sidecar]), 'mutate');
    assert.deepEqual(request, before);
  });
});

describe('exemptions', () => {
  const exempt = (ids: string, reason?: string): Record<string, string> => ({
    'dapr-guard.io/exempt': ids,
    ...(reason === undefined ? {} : { 'dapr-guard.io/exempt-reason': reason }),
  });
  const policy = testPolicy([labelRule('a'), labelRule('b')]);

  test('an exemption with a reason skips exactly the named rules and is reported', () => {
    const evaluation = evaluate(
      admissionRequest(bad('cm', exempt(' a , nope', 'migrating in Q1'))),
      policy,
      'validate',
    );
    assert.deepEqual(
      evaluation.violations.map((violation) => violation.ruleId),
      ['b'],
    );
    assert.deepEqual(evaluation.exemptions, [{ ruleId: 'a', reason: 'migrating in Q1' }]);
    assert.deepEqual(evaluation.notices, [
      '[exemptions] dapr-guard.io/exempt names unknown rule "nope"; it has no effect',
    ]);
  });

  test('an exemption without a reason is ignored, and the user is told why', () => {
    for (const reason of [undefined, '  ']) {
      const evaluation = evaluate(admissionRequest(bad('cm', exempt('a', reason))), policy, 'validate');
      assert.deepEqual(
        evaluation.violations.map((violation) => violation.ruleId),
        ['a', 'b'],
      );
      assert.deepEqual(evaluation.exemptions, []);
      assert.deepEqual(evaluation.notices, [
        '[exemptions] dapr-guard.io/exempt is ignored — add dapr-guard.io/exempt-reason saying why the object is exempt',
      ]);
    }
  });

  test('operators can turn exemptions off', () => {
    const evaluation = evaluate(
      admissionRequest(bad('cm', exempt('a', 'because'))),
      testPolicy([labelRule('a')], {
        exemptions: { enabled: false, allowedGroups: ['system:masters'], namespaces: [] },
      }),
      'validate',
    );
    assert.deepEqual(
      evaluation.violations.map((violation) => violation.ruleId),
      ['a'],
    );
    assert.deepEqual(evaluation.notices, [
      '[exemptions] dapr-guard.io/exempt is ignored: exemptions are turned off in this cluster',
    ]);
  });

  test('a mutating rule can be exempted too', () => {
    const evaluation = evaluate(
      admissionRequest(daprPod(exempt('sidecar-resources', 'sized by the platform team'))),
      testPolicy([sidecar]),
      'mutate',
    );
    assert.deepEqual(evaluation.patch, []);
    assert.deepEqual(evaluation.exemptions, [{ ruleId: 'sidecar-resources', reason: 'sized by the platform team' }]);
  });
});

test('exemption notices are given once, by /validate, not again by /mutate', () => {
  const annotations = { 'dapr-guard.io/exempt': 'sidecar-resources' };
  assert.deepEqual(evaluate(admissionRequest(daprPod(annotations)), testPolicy([sidecar]), 'mutate').notices, []);
  assert.equal(evaluate(admissionRequest(daprPod(annotations)), testPolicy([sidecar]), 'validate').notices.length, 1);
});
