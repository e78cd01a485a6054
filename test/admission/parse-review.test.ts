import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAdmissionReview } from '../../src/admission/parse-review.ts';
import { jsonFixture } from '../support/fixtures.ts';

const JSON_TYPE = 'application/json';
const body = (value: unknown): Uint8Array => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const request = {
  uid: 'u-1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  operation: 'CREATE',
  object: { metadata: {} },
  userInfo: {},
};
const review = (overrides: Record<string, unknown> = {}, requestOverrides: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { ...request, ...requestOverrides },
  ...overrides,
});

describe('parseAdmissionReview', () => {
  test('accepts a recorded v1 review and keeps the request as sent', () => {
    const recorded = jsonFixture<{ request: { uid: string } }>('reviews/pod-create-orders.json');
    const parsed = parseAdmissionReview({ contentType: JSON_TYPE, body: body(recorded) });
    assert.equal(parsed.ok, true);
    assert.ok(parsed.ok);
    assert.equal(parsed.apiVersion, 'admission.k8s.io/v1');
    assert.deepEqual(parsed.request, recorded.request);
  });

  test('accepts v1beta1 and answers in the version asked', () => {
    const parsed = parseAdmissionReview({
      contentType: JSON_TYPE,
      body: body(review({ apiVersion: 'admission.k8s.io/v1beta1' })),
    });
    assert.ok(parsed.ok);
    assert.equal(parsed.apiVersion, 'admission.k8s.io/v1beta1');
  });

  test('accepts a charset parameter and any case in the media type', () => {
    assert.equal(
      parseAdmissionReview({ contentType: 'Application/JSON; charset=utf-8', body: body(review()) }).ok,
      true,
    );
  });

  const rejected: readonly {
    name: string;
    contentType: string | undefined;
    body: Uint8Array | undefined;
    message: string;
    uid: string;
    apiVersion?: string;
  }[] = [
    { name: 'no body', contentType: JSON_TYPE, body: undefined, message: 'request body is empty', uid: '' },
    { name: 'empty body', contentType: JSON_TYPE, body: body(''), message: 'request body is empty', uid: '' },
    { name: 'whitespace body', contentType: JSON_TYPE, body: body('  \n'), message: 'request body is empty', uid: '' },
    {
      name: 'invalid JSON',
      contentType: JSON_TYPE,
      body: body('{"request": {"uid": "u-1"'),
      message: 'request body is not valid JSON',
      uid: 'u-1',
    },
    {
      name: 'JSON array',
      contentType: JSON_TYPE,
      body: body([1, 2]),
      message: 'request body is not a JSON object',
      uid: '',
    },
    {
      name: 'wrong kind',
      contentType: JSON_TYPE,
      body: body(review({ kind: 'Pod' })),
      message:
        'expected an AdmissionReview of apiVersion admission.k8s.io/v1 or admission.k8s.io/v1beta1, got kind="Pod" apiVersion="admission.k8s.io/v1"',
      uid: 'u-1',
    },
    {
      name: 'unknown apiVersion',
      contentType: JSON_TYPE,
      body: body(review({ apiVersion: 'admission.k8s.io/v2' })),
      message:
        'expected an AdmissionReview of apiVersion admission.k8s.io/v1 or admission.k8s.io/v1beta1, got kind="AdmissionReview" apiVersion="admission.k8s.io/v2"',
      uid: 'u-1',
    },
    {
      name: 'no request',
      contentType: JSON_TYPE,
      body: body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      message: 'AdmissionReview has no request',
      uid: '',
    },
    {
      name: 'missing uid',
      contentType: JSON_TYPE,
      body: body(review({}, { uid: undefined })),
      message: 'request.uid is missing',
      uid: '',
    },
    {
      name: 'numeric uid',
      contentType: JSON_TYPE,
      body: body(review({}, { uid: 7 })),
      message: 'request.uid is missing',
      uid: '',
    },
    {
      name: 'unknown operation',
      contentType: JSON_TYPE,
      body: body(review({}, { operation: 'PATCH' })),
      message: 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
      uid: 'u-1',
    },
    {
      name: 'missing kind',
      contentType: JSON_TYPE,
      body: body(review({}, { kind: undefined })),
      message: 'request.kind must have group, version and kind',
      uid: 'u-1',
    },
    {
      name: 'missing object on CREATE',
      contentType: JSON_TYPE,
      body: body(review({}, { object: undefined })),
      message: 'request.object is missing for a CREATE request',
      uid: 'u-1',
    },
    {
      name: 'missing oldObject on UPDATE',
      contentType: JSON_TYPE,
      body: body(review({}, { operation: 'UPDATE' })),
      message: 'request.oldObject is missing for an UPDATE request',
      uid: 'u-1',
    },
    {
      name: 'wrong content type',
      contentType: 'text/plain',
      body: body(review()),
      message: 'contentType=text/plain, expected application/json',
      uid: 'u-1',
    },
    {
      name: 'missing userInfo',
      contentType: JSON_TYPE,
      body: body(review({}, { userInfo: undefined })),
      message: 'request.userInfo is missing',
      uid: 'u-1',
    },
    {
      name: 'null userInfo',
      contentType: JSON_TYPE,
      body: body(review({}, { userInfo: null })),
      message: 'request.userInfo is missing',
      uid: 'u-1',
    },
    {
      name: 'userInfo as a string',
      contentType: JSON_TYPE,
      body: body(review({}, { userInfo: 'admin' })),
      message: 'request.userInfo must be an object, got "admin"',
      uid: 'u-1',
    },
    {
      name: 'numeric username',
      contentType: JSON_TYPE,
      body: body(review({}, { userInfo: { username: 7 } })),
      message: 'request.userInfo.username must be a string, got (number)',
      uid: 'u-1',
    },
    {
      name: 'groups not a list of strings',
      contentType: JSON_TYPE,
      body: body(review({}, { userInfo: { groups: [1] } })),
      message: 'request.userInfo.groups must be a list of strings, got (array)',
      uid: 'u-1',
    },
    {
      name: 'numeric name',
      contentType: JSON_TYPE,
      body: body(review({}, { name: 7 })),
      message: 'request.name must be a string, got (number)',
      uid: 'u-1',
    },
    {
      name: 'namespace as an object',
      contentType: JSON_TYPE,
      body: body(review({}, { namespace: {} })),
      message: 'request.namespace must be a string, got (object)',
      uid: 'u-1',
    },
    {
      name: 'null subResource',
      contentType: JSON_TYPE,
      body: body(review({}, { subResource: null })),
      message: 'request.subResource must be a string, got (null)',
      uid: 'u-1',
    },
    {
      name: 'a long content type, clipped',
      contentType: `text/${'x'.repeat(200)}\u0007`,
      body: body(review()),
      message: `contentType=text/${'x'.repeat(59)}…, expected application/json`,
      uid: 'u-1',
    },
    {
      name: 'invalid JSON, v1beta1 read from the start',
      contentType: JSON_TYPE,
      body: body('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u-2",'),
      message: 'request body is not valid JSON',
      uid: 'u-2',
      apiVersion: 'admission.k8s.io/v1beta1',
    },
    {
      name: 'a BOM before the JSON',
      contentType: JSON_TYPE,
      body: body(`\ufeff${JSON.stringify(review())}`),
      message: 'request body is not valid JSON',
      uid: 'u-1',
    },
    {
      name: 'no content type',
      contentType: undefined,
      body: body(review()),
      message: 'contentType=(none), expected application/json',
      uid: 'u-1',
    },
    {
      name: 'YAML body',
      contentType: 'application/yaml',
      body: body('kind: AdmissionReview'),
      message: 'contentType=application/yaml, expected application/json',
      uid: '',
    },
  ];
  test('the rejection table has every case', () => assert.equal(rejected.length, 28));
  for (const testCase of rejected) {
    test(`rejects ${testCase.name} with 400, a specific message and the uid it could read`, () => {
      const parsed = parseAdmissionReview({ contentType: testCase.contentType, body: testCase.body });
      assert.deepEqual(parsed, {
        ok: false,
        code: 400,
        message: testCase.message,
        uid: testCase.uid,
        apiVersion: testCase.apiVersion ?? 'admission.k8s.io/v1',
      });
    });
  }

  test('DELETE needs no object and CONNECT no oldObject', () => {
    assert.equal(
      parseAdmissionReview({
        contentType: JSON_TYPE,
        body: body(review({}, { operation: 'DELETE', object: undefined, oldObject: {} })),
      }).ok,
      true,
    );
    assert.equal(
      parseAdmissionReview({ contentType: JSON_TYPE, body: body(review({}, { operation: 'CONNECT' })) }).ok,
      true,
    );
  });

  test('never repeats the body in a message, even when the JSON is broken next to a secret', () => {
    const parsed = parseAdmissionReview({ contentType: JSON_TYPE, body: body('{"value": "canary-s3cr3t" oops}') });
    assert.ok(!parsed.ok);
    assert.doesNotMatch(parsed.message, /canary/);
  });
});
