import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionRequest, KubeObject } from '../../src/admission/wire.ts';
import { decide, formatMessage } from '../../src/policy/decide.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import type { Violation } from '../../src/policy/evaluation.ts';
import { API_TOKEN_RULE_ID, apiTokenRule } from '../../src/rules/api-token.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { WORKLOAD_CASES, workload } from '../support/workloads.ts';

function violations(request: AdmissionRequest): readonly Violation[] {
  const found = evaluate(request, testPolicy([apiTokenRule()]), 'validate').violations;
  for (const violation of found) {
    assert.ok(
      formatMessage(violation).length <= MAX_WARNING_LENGTH,
      `too long for a warning: ${formatMessage(violation)}`,
    );
  }
  return found;
}

const missingToken = (object: string): string =>
  `${object} has no dapr.io/api-token-secret — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token`;

function recorded(file: string): AdmissionRequest {
  return jsonFixture<{ request: AdmissionRequest }>(`reviews/${file}`).request;
}

function withoutOwners(object: KubeObject): KubeObject {
  const { ownerReferences: _owners, ...metadata } = object.metadata ?? {};
  return { ...object, metadata };
}

describe('api-token', () => {
  describe('warns about Dapr-enabled workloads of every kind without dapr.io/api-token-secret', () => {
    for (const { kind } of WORKLOAD_CASES) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        it(`${kind} ${operation}`, () => {
          const object = workload(kind, { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' });
          const request = admissionRequest(object, operation === 'UPDATE' ? { operation, oldObject: object } : {});
          assert.deepEqual(violations(request), [
            { ruleId: API_TOKEN_RULE_ID, mode: 'warn', message: missingToken(`${kind} "orders"`) },
          ]);
        });
      }
    }
  });

  describe('is satisfied by a Secret name, but not by an empty one', () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ['orders-api-token', 0],
      ['dapr-api-token', 0],
      ['', 1],
      ['   ', 1],
    ];
    for (const [value, count] of cases) {
      it(JSON.stringify(value), () => {
        const object = workload('Deployment', { 'dapr.io/enabled': 'true', 'dapr.io/api-token-secret': value });
        assert.equal(violations(admissionRequest(object)).length, count);
      });
    }
  });

  it('ignores workloads that are not Dapr-enabled', () => {
    for (const annotations of [undefined, {}, { 'dapr.io/enabled': 'false' }, { 'dapr.io/enabled': 'yes' }]) {
      assert.deepEqual(violations(admissionRequest(workload('Deployment', annotations))), []);
    }
  });

  it('looks for the annotation on the pod template, where Dapr reads it', () => {
    const object = workload(
      'Deployment',
      { 'dapr.io/enabled': 'true' },
      { metadata: { annotations: { 'dapr.io/api-token-secret': 'token' } } },
    );
    assert.equal(violations(admissionRequest(object)).length, 1);
  });

  describe('Pods and other objects that controllers create', () => {
    it('skips a Pod owned by a controller: pod-create-nodeapp.json (created by the ReplicaSet of nodeapp)', () => {
      const request = recorded('pod-create-nodeapp.json');
      assert.equal(request.object?.metadata?.annotations?.['dapr.io/enabled'], 'true');
      assert.deepEqual(violations(request), []);
    });

    it('warns about the same Pod created directly, without the ownerReference', () => {
      const request = recorded('pod-create-nodeapp.json');
      const bare = { ...request, object: withoutOwners(request.object ?? {}) };
      assert.deepEqual(
        violations(bare).map((violation) => violation.message),
        [missingToken('Pod "nodeapp-c98c589fb-vxws5"')],
      );
    });

    it('skips the ReplicaSets and Jobs that controllers create, for the same reason', () => {
      for (const [kind, owner] of [
        ['ReplicaSet', 'Deployment'],
        ['Job', 'CronJob'],
      ] as const) {
        const object = workload(
          kind,
          { 'dapr.io/enabled': 'true' },
          {
            metadata: {
              ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: 'orders', uid: 'u', controller: true }],
            },
          },
        );
        assert.deepEqual(violations(admissionRequest(object)), [], kind);
      }
    });

    it('warns when the ownerReferences name no controller', () => {
      const object = workload(
        'Pod',
        { 'dapr.io/enabled': 'true' },
        {
          metadata: {
            ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u', controller: false }],
          },
        },
      );
      assert.equal(violations(admissionRequest(object)).length, 1);
    });

    it('names a Pod that has only a generateName yet', () => {
      const object: KubeObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'orders-', annotations: { 'dapr.io/enabled': 'true' } },
      };
      assert.deepEqual(
        violations(admissionRequest(object, { namespace: 'shop' })).map((violation) => violation.message),
        [missingToken('Pod "orders-…"')],
      );
    });
  });

  it('warns about the recorded Deployment nodeapp and lets it through with a warning', () => {
    const request = recorded('deployment-create-nodeapp.json');
    const evaluation = evaluate(request, testPolicy([apiTokenRule()]), 'validate');
    assert.deepEqual(
      evaluation.violations.map((violation) => violation.message),
      [missingToken('Deployment "nodeapp"')],
    );
    const response = decide(request.uid, evaluation);
    assert.equal(response.allowed, true);
    assert.deepEqual(response.warnings, [`[api-token] ${missingToken('Deployment "nodeapp"')}`]);
  });

  it('shortens a long object name so the message fits in a warning', () => {
    const object = workload('StatefulSet', { 'dapr.io/enabled': 'true' }, { name: 'a'.repeat(253) });
    assert.deepEqual(
      violations(admissionRequest(object)).map((violation) => violation.message),
      [missingToken(`StatefulSet "${'a'.repeat(39)}…"`)],
    );
  });

  it('survives malformed objects', () => {
    const shapes: KubeObject[] = [
      { kind: 'Pod', metadata: { annotations: { 'dapr.io/enabled': 'true' }, ownerReferences: 'x' } },
      { kind: 'Pod', metadata: { annotations: { 'dapr.io/enabled': 'true' }, ownerReferences: [null, 3] } },
      { kind: 'Deployment', spec: { template: 'x' } },
      { kind: 'CronJob' },
    ];
    assert.deepEqual(
      shapes.map((object) => violations(admissionRequest(object)).length),
      [1, 1, 0, 0],
    );
  });

  it('warns once about each Dapr workload of the corpus (none sets an API token)', () => {
    const kinds = new Set(WORKLOAD_CASES.map((entry) => entry.kind));
    const objects = fixtureFiles('dapr-corpus', '.yaml')
      .flatMap((file) => yamlObjects(file))
      .filter((object) => kinds.has(object.kind ?? ''));
    const warned = objects.filter((object) => violations(admissionRequest(object)).length === 1);
    assert.equal(warned.length, 67, 'dapr-corpus/EXPECTED.md §8 counts 67 Dapr workloads');
  });
});
