import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import type { Policy } from '../../src/policy/evaluate.ts';
import type { ValidatingRule } from '../../src/rules/rule.ts';
import { sidecarResourcesRule } from '../../src/rules/sidecar-resources.ts';
import { PRODUCTION_SIDECAR_RESOURCES } from '../../src/rules/support/dapr-annotations.ts';
import { buildApp, type Readiness } from '../../src/server/app.ts';
import { createMetrics, type Metrics } from '../../src/server/metrics.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, admissionReviewBody } from '../support/requests.ts';

const BODY_LIMIT = 64 * 1024;

function harness(
  policy: Policy = testPolicy([sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES)]),
  readiness: () => Readiness = () => ({ ready: true }),
  sabotage: (parts: { logger: Logger; metrics: Metrics }) => void = () => undefined,
) {
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }),
  );
  const metrics = createMetrics({ defaultMetrics: false });
  sabotage({ logger, metrics });
  const app = buildApp({ policy, logger, metrics, bodyLimitBytes: BODY_LIMIT, readiness });
  const logs = (): Record<string, unknown>[] => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { app, metrics, logs };
}

async function post(
  app: ReturnType<typeof harness>['app'],
  url: string,
  payload: string | Buffer | undefined,
  contentType: string | undefined = 'application/json',
) {
  const response = await app.inject({
    method: 'POST',
    url,
    ...(payload === undefined ? {} : { payload }),
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });
  return { status: response.statusCode, review: response.json<AdmissionReview>() };
}

describe('buildApp (inject)', () => {
  test('a recorded Pod review gets the sidecar patch, echoing uid and apiVersion', async () => {
    const { app } = harness();
    const body = fixtureText('reviews/pod-create-payments.json');
    const { status, review } = await post(app, '/mutate', body);
    assert.equal(status, 200);
    assert.equal(review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(review.kind, 'AdmissionReview');
    assert.equal(review.response?.uid, jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid);
    assert.equal(review.response?.allowed, true);
    assert.equal(review.response?.patchType, 'JSONPatch');
    // payments sets dapr.io/sidecar-memory-limit itself: three annotations are added, that one is kept.
    assert.deepEqual(JSON.parse(Buffer.from(review.response?.patch ?? '', 'base64').toString('utf8')), [
      { op: 'add', path: '/metadata/annotations/dapr.io~1sidecar-cpu-request', value: '100m' },
      { op: 'add', path: '/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '4' },
      { op: 'add', path: '/metadata/annotations/dapr.io~1sidecar-memory-request', value: '250Mi' },
    ]);
  });

  test('v1beta1 in, v1beta1 out', async () => {
    const { app } = harness();
    const recorded = jsonFixture<Record<string, unknown>>('reviews/pod-create-nodeapp.json');
    const { review } = await post(
      app,
      '/validate',
      JSON.stringify({ ...recorded, apiVersion: 'admission.k8s.io/v1beta1' }),
    );
    assert.equal(review.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(review.response?.allowed, true);
  });

  const badInputs: readonly {
    name: string;
    payload: string | Buffer | undefined;
    contentType?: string;
    code: number;
    message: string;
    uid?: string;
  }[] = [
    { name: 'no body', payload: undefined, code: 400, message: 'request body is empty' },
    { name: 'empty body', payload: '', code: 400, message: 'request body is empty' },
    { name: 'invalid JSON', payload: '{"kind":', code: 400, message: 'request body is not valid JSON' },
    {
      name: 'not an AdmissionReview',
      payload: '{"kind":"Pod","apiVersion":"v1"}',
      code: 400,
      message:
        'expected an AdmissionReview of apiVersion admission.k8s.io/v1 or admission.k8s.io/v1beta1, got kind="Pod" apiVersion="v1"',
    },
    {
      name: 'missing uid',
      payload: '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}',
      code: 400,
      message: 'request.uid is missing',
    },
    {
      name: 'missing object',
      payload: JSON.stringify({
        kind: 'AdmissionReview',
        apiVersion: 'admission.k8s.io/v1',
        request: { uid: 'u-7', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } },
      }),
      code: 400,
      message: 'request.object is missing for a CREATE request',
      uid: 'u-7',
    },
    {
      name: 'wrong content type',
      payload: fixtureText('reviews/pod-create-nodeapp.json'),
      contentType: 'text/yaml',
      code: 400,
      message: 'contentType=text/yaml, expected application/json',
      uid: jsonFixture<AdmissionReview>('reviews/pod-create-nodeapp.json').request?.uid ?? '',
    },
    {
      name: 'body over the limit',
      payload: Buffer.alloc(BODY_LIMIT + 1, 'a'),
      code: 413,
      message: `request body is larger than the limit of ${BODY_LIMIT} bytes`,
    },
  ];
  for (const bad of badInputs) {
    test(`${bad.name}: a well-formed review with allowed false, code ${bad.code} and a specific message`, async () => {
      const { app, metrics } = harness();
      for (const url of ['/mutate', '/validate']) {
        const { status, review } = await post(app, url, bad.payload, bad.contentType ?? 'application/json');
        assert.equal(status, 200);
        assert.deepEqual(review, {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: bad.uid ?? '',
            allowed: false,
            status: { metadata: {}, status: 'Failure', code: bad.code, message: bad.message },
          },
        });
      }
      const errors = await metrics.errors.get();
      assert.deepEqual(
        errors.values.map((value) => [value.labels['endpoint'], value.labels['code'], value.value]),
        [
          ['mutate', String(bad.code), 1],
          ['validate', String(bad.code), 1],
        ],
      );
    });
  }

  const NODEAPP = jsonFixture<{ request: Record<string, unknown> }>('reviews/pod-create-nodeapp.json');
  const NODEAPP_UID = String(NODEAPP.request['uid']);
  const withRequest = (changes: Record<string, unknown>): string =>
    JSON.stringify({ ...NODEAPP, request: { ...NODEAPP.request, ...changes } });
  const failure = (code: number, message: string) => ({ metadata: {}, status: 'Failure', code, message });

  const echoed: readonly { name: string; payload: string; code: number; message: string; apiVersion?: string }[] = [
    {
      name: 'a body over the limit',
      payload: withRequest({ object: { metadata: { annotations: { pad: 'x'.repeat(BODY_LIMIT) } } } }),
      code: 413,
      message: `request body is larger than the limit of ${BODY_LIMIT} bytes`,
    },
    {
      name: 'a v1beta1 body over the limit',
      payload: JSON.stringify({
        kind: 'AdmissionReview',
        apiVersion: 'admission.k8s.io/v1beta1',
        request: { uid: NODEAPP_UID, pad: 'x'.repeat(BODY_LIMIT) },
      }),
      code: 413,
      message: `request body is larger than the limit of ${BODY_LIMIT} bytes`,
      apiVersion: 'admission.k8s.io/v1beta1',
    },
    {
      name: 'unreadable JSON',
      payload: withRequest({}).slice(0, 400),
      code: 400,
      message: 'request body is not valid JSON',
    },
    {
      name: 'no userInfo',
      payload: withRequest({ userInfo: undefined }),
      code: 400,
      message: 'request.userInfo is missing',
    },
    {
      name: 'userInfo null',
      payload: withRequest({ userInfo: null }),
      code: 400,
      message: 'request.userInfo is missing',
    },
    {
      name: 'a numeric request.name',
      payload: withRequest({ name: 7 }),
      code: 400,
      message: 'request.name must be a string, got (number)',
    },
  ];
  test('the uid-echo table has every case', () => assert.equal(echoed.length, 6));
  for (const bad of echoed) {
    test(`${bad.name}: the reply echoes the uid and apiVersion, so the API server takes it as the decision`, async () => {
      const { app, metrics } = harness();
      const { status, review } = await post(app, '/mutate', bad.payload);
      assert.equal(status, 200);
      assert.deepEqual(review, {
        apiVersion: bad.apiVersion ?? 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: NODEAPP_UID, allowed: false, status: failure(bad.code, bad.message) },
      });
      assert.deepEqual(
        (await metrics.reviews.get()).values.map((value) => [value.labels['decision'], value.value]),
        [['error', 1]],
      );
    });
  }

  test('a crash while evaluating: 500 review with the uid, counted once', async () => {
    const crashing: Policy = {
      ...testPolicy([]),
      namespaceMode: () => {
        throw new TypeError('boom');
      },
    };
    const { app, metrics } = harness(crashing);
    const body = admissionReviewBody(
      admissionRequest({ kind: 'Pod', metadata: { name: 'p', namespace: 'shop' } }, { uid: 'crash-1' }),
    );
    const { review } = await post(app, '/validate', body);
    assert.equal(review.response?.uid, 'crash-1');
    assert.equal(review.response?.status?.code, 500);
    assert.deepEqual(
      (await metrics.reviews.get()).values.map((value) => [value.labels['decision'], value.value]),
      [['error', 1]],
    );
  });

  const faults: readonly { name: string; sabotage: (parts: { logger: Logger; metrics: Metrics }) => void }[] = [
    {
      name: 'a logger that throws',
      sabotage: ({ logger }) => {
        logger.info = () => {
          throw new Error('log sink down');
        };
      },
    },
    {
      name: 'metrics that throw',
      sabotage: ({ metrics }) => {
        metrics.reviewDuration.labels = () => {
          throw new Error('registry broken');
        };
      },
    },
  ];
  test('the observer-fault table has every case', () => assert.equal(faults.length, 2));
  for (const fault of faults) {
    test(`${fault.name} never changes the answer nor counts the review twice`, async () => {
      const { app: healthy } = harness();
      const { app, metrics } = harness(undefined, undefined, fault.sabotage);
      const body = fixtureText('reviews/pod-create-payments.json');
      const expected = await post(healthy, '/mutate', body);
      assert.deepEqual(await post(app, '/mutate', body), expected);
      const counted = (await metrics.reviews.get()).values.map((value) => [value.labels['decision'], value.value]);
      assert.deepEqual(counted, [['patched', 1]]);
      assert.deepEqual((await metrics.errors.get()).values, []);
    });
  }

  test('a failing rule gives a 500 review with the uid, no stack trace, and an error log line', async () => {
    const broken: ValidatingRule = {
      id: 'broken',
      type: 'validating',
      description: '',
      defaultMode: 'enforce',
      kinds: ['Pod', 'Deployment', 'Component'],
      validate: () => {
        throw new TypeError('boom');
      },
    };
    const { app, logs } = harness(testPolicy([broken]));
    const recorded = jsonFixture<AdmissionReview>('reviews/pod-create-nodeapp.json');
    const { review } = await post(app, '/validate', JSON.stringify(recorded));
    assert.deepEqual(review.response, {
      uid: recorded.request?.uid,
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 500,
        message: 'internal error while reviewing Pod; see the dapr-guard logs',
      },
    });
    const errorLine = logs().find((line) => line['msg'] === 'admission review failed');
    assert.equal((errorLine?.['err'] as { message?: string } | undefined)?.message, 'boom');
  });

  test('one log line per review with the identity of the request and the decision', async () => {
    const { app, logs } = harness();
    const recorded = jsonFixture<AdmissionReview>('reviews/deployment-update-orders-dry-run.json');
    await post(app, '/mutate', JSON.stringify(recorded));
    const reviewLines = logs().filter((line) => line['msg'] === 'admission review');
    assert.equal(reviewLines.length, 1);
    const line = reviewLines[0] ?? {};
    assert.deepEqual(
      {
        endpoint: line['endpoint'],
        uid: line['uid'],
        kind: line['kind'],
        namespace: line['namespace'],
        name: line['name'],
        operation: line['operation'],
        user: line['user'],
        dryRun: line['dryRun'],
        decision: line['decision'],
        mode: line['mode'],
        rules: line['rules'],
        mutated: line['mutated'],
        wouldMutate: line['wouldMutate'],
        ruleModes: line['ruleModes'],
      },
      {
        endpoint: 'mutate',
        uid: recorded.request?.uid,
        kind: 'apps/v1/Deployment',
        namespace: 'shop',
        name: 'orders',
        operation: 'UPDATE',
        user: 'kubernetes-admin',
        dryRun: true,
        decision: 'patched',
        mode: 'enforce',
        rules: [],
        mutated: ['sidecar-resources'],
        wouldMutate: [],
        ruleModes: [{ id: 'sidecar-resources', mode: 'enforce' }],
      },
    );
    assert.equal(typeof line['durationMs'], 'number');
  });

  test('audit mode logs and counts what would have been mutated, not a mutation, and each rule with its mode', async () => {
    const { app, logs, metrics } = harness(
      testPolicy([sidecarResourcesRule(PRODUCTION_SIDECAR_RESOURCES)], { globalMode: 'audit' }),
    );
    await post(app, '/mutate', fixtureText('reviews/deployment-update-orders-dry-run.json'));
    const reviewLines = logs().filter((line) => line['msg'] === 'admission review');
    assert.equal(reviewLines.length, 1);
    const line = reviewLines[0] ?? {};
    assert.deepEqual(
      [line['decision'], line['mode'], line['rules'], line['mutated'], line['wouldMutate'], line['ruleModes']],
      ['allowed', 'audit', [], [], ['sidecar-resources'], [{ id: 'sidecar-resources', mode: 'audit' }]],
    );
    const mutations = await metrics.mutations.get();
    assert.deepEqual(
      mutations.values.map((value) => [value.labels, value.value]),
      [[{ rule: 'sidecar-resources', mode: 'audit', result: 'would_mutate' }, 1]],
    );
  });

  test('metrics count reviews by endpoint, decision and mode', async () => {
    const { app, metrics } = harness();
    await post(app, '/mutate', fixtureText('reviews/pod-create-payments.json'));
    await post(app, '/validate', fixtureText('reviews/pod-create-payments.json'));
    const reviews = await metrics.reviews.get();
    assert.deepEqual(
      reviews.values.map((value) => [
        value.labels['endpoint'],
        value.labels['decision'],
        value.labels['mode'],
        value.value,
      ]),
      [
        ['mutate', 'patched', 'enforce', 1],
        ['validate', 'allowed', 'enforce', 1],
      ],
    );
  });

  test('/healthz is live; /readyz reports readiness and why not', async () => {
    let readiness: Readiness = { ready: false, reason: 'certificate not loaded' };
    const { app } = harness(undefined, () => readiness);
    assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    const notReady = await app.inject({ url: '/readyz' });
    assert.deepEqual(
      [notReady.statusCode, notReady.json()],
      [503, { status: 'not ready', reason: 'certificate not loaded' }],
    );
    readiness = { ready: true };
    const ready = await app.inject({ url: '/readyz' });
    assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ok' }]);
  });

  test('other paths and methods get a plain 404, never a review', async () => {
    const { app } = harness();
    assert.equal((await app.inject({ method: 'GET', url: '/mutate' })).statusCode, 404);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/admit',
          payload: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).statusCode,
      404,
    );
  });
});
