import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { sidecarResourceValuesRule } from '../../src/rules/sidecar-resource-values.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { reviewAdmission, type Decision } from '../../src/webhook/review.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, admissionReviewBody } from '../support/requests.ts';
import { workload } from '../support/workloads.ts';

const policy = testPolicy([sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES), sidecarResourceValuesRule()]);
const JSON_TYPE = 'application/json';

function body(annotations: Record<string, string>): Uint8Array {
  return Buffer.from(admissionReviewBody(admissionRequest(workload('Pod', annotations))));
}

describe('reviewAdmission carries the decision it made', () => {
  const cases: ReadonlyArray<{
    name: string;
    endpoint: 'mutate' | 'validate';
    contentType: string;
    body: Uint8Array;
    decision: Decision;
  }> = [
    {
      name: 'a Pod without Dapr, on /mutate',
      endpoint: 'mutate',
      contentType: JSON_TYPE,
      body: body({}),
      decision: 'allowed',
    },
    {
      name: 'a Dapr Pod without resources, on /mutate',
      endpoint: 'mutate',
      contentType: JSON_TYPE,
      body: body({ 'dapr.io/enabled': 'true' }),
      decision: 'patched',
    },
    {
      name: 'a Dapr Pod with a request above its limit, on /validate',
      endpoint: 'validate',
      contentType: JSON_TYPE,
      body: body({ 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-request': '2', 'dapr.io/sidecar-cpu-limit': '1' }),
      decision: 'denied',
    },
    {
      name: 'a body that is not JSON',
      endpoint: 'validate',
      contentType: JSON_TYPE,
      body: Buffer.from('{'),
      decision: 'error',
    },
    {
      name: 'a body of another media type',
      endpoint: 'mutate',
      contentType: 'text/plain',
      body: body({}),
      decision: 'error',
    },
  ];
  it('has 5 cases, one per decision and two errors', () => assert.equal(cases.length, 5));

  for (const { name, endpoint, contentType, body: raw, decision } of cases) {
    it(`${name}: ${decision}`, () => {
      const outcome = reviewAdmission({ contentType, body: raw }, policy, endpoint);
      assert.equal(outcome.decision, decision);
      const response = outcome.review.response;
      assert.equal(response?.allowed, decision === 'allowed' || decision === 'patched');
      assert.equal(response?.patch !== undefined, decision === 'patched');
    });
  }
});
