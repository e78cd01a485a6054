/**
 * The bad-input set of the security review (../shared/reviews/security-2026-12.md, "Bad-input probe
 * results"): every malformed or hostile AdmissionReview is answered with HTTP 200 and a well-formed
 * AdmissionReview that echoes the uid (when one was sent) in the request's apiVersion, within a time
 * budget, without a stack trace. Through the app (inject) and again over HTTP/2 on one session.
 * End to end here: two ReDoS quantity cases; the rules' own tests and regex-linearity.test.ts probe the patterns.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { AdmissionReview, KubeObject } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../src/config/options.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { buildApp, type App } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest } from '../support/requests.ts';
import { http2Session, postHttp2, startTestServer, type TestServer } from '../support/server.ts';

const UID = 'bad-input-0001';
const V1 = 'admission.k8s.io/v1';
const V1BETA1 = 'admission.k8s.io/v1beta1';

interface BadInput {
  readonly name: string;
  readonly body: string | Buffer;
  readonly contentType?: string;
  readonly endpoint?: '/mutate' | '/validate';
  /** The uid the reply must carry: '' when the body has none that can be read. */
  readonly uid?: string;
  readonly apiVersion?: string;
  readonly budgetMs?: number;
}

const daprPod = (annotations: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web',
    namespace: 'shop',
    annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'web', ...annotations },
  },
  spec: { containers: [{ name: 'web', image: 'web:1' }] },
});
const component = (spec: unknown): KubeObject => ({
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'store', namespace: 'shop' },
  spec,
});

function envelope(request: unknown, apiVersion: string = V1): string {
  return JSON.stringify({ kind: 'AdmissionReview', apiVersion, request });
}
function review(object: KubeObject, changes: Record<string, unknown> = {}, apiVersion: string = V1): string {
  return envelope({ ...admissionRequest(object, { uid: UID }), ...changes }, apiVersion);
}
/** JSON text spliced in where JSON.stringify cannot build it (depth, __proto__ keys). */
function reviewWithRaw(object: KubeObject, marker: string, raw: string): string {
  return review(object).replace(JSON.stringify(marker), raw);
}
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const CASES: readonly BadInput[] = [
  { name: 'invalid JSON', body: review(daprPod()).slice(0, 500), uid: UID },
  { name: 'empty body', body: '', uid: '' },
  { name: 'JSON array', body: '[1,2]', uid: '' },
  { name: 'JSON number', body: '7', uid: '' },
  { name: 'JSON string', body: '"AdmissionReview"', uid: '' },
  { name: 'byte order mark', body: `\ufeff${review(daprPod())}`, uid: UID },
  {
    name: 'invalid UTF-8 in a value',
    body: Buffer.concat([Buffer.from(review(daprPod()).slice(0, -2)), Buffer.from([0xff, 0xfe]), Buffer.from('}}')]),
    uid: UID,
  },
  { name: 'wrong Content-Type', body: review(daprPod()), contentType: 'text/plain', uid: UID },
  { name: 'no Content-Type', body: review(daprPod()), contentType: '', uid: UID },
  {
    name: 'a 10 KiB Content-Type',
    body: review(daprPod()),
    contentType: `application/${'x'.repeat(10_240)}`,
    uid: UID,
  },
  {
    name: 'wrong kind',
    body: JSON.stringify({ kind: 'Pod', apiVersion: V1, request: admissionRequest(daprPod(), { uid: UID }) }),
    uid: UID,
  },
  { name: 'wrong apiVersion', body: review(daprPod(), {}, 'admission.k8s.io/v2'), uid: UID },
  { name: 'v1beta1', body: review(daprPod(), {}, V1BETA1), uid: UID, apiVersion: V1BETA1 },
  {
    name: 'v1beta1 bad request',
    body: review(daprPod(), { operation: 'PATCH' }, V1BETA1),
    uid: UID,
    apiVersion: V1BETA1,
  },
  { name: 'v1beta1 invalid JSON', body: review(daprPod(), {}, V1BETA1).slice(0, 300), uid: UID, apiVersion: V1BETA1 },
  { name: 'uid missing', body: review(daprPod(), { uid: undefined }), uid: '' },
  { name: 'uid a number', body: review(daprPod(), { uid: 7 }), uid: '' },
  { name: 'uid of 64 KiB', body: review(daprPod(), { uid: 'u'.repeat(65_536) }), uid: 'u'.repeat(65_536) },
  { name: 'bad operation', body: review(daprPod(), { operation: 'PATCH' }), uid: UID },
  { name: 'request.kind without kind', body: review(daprPod(), { kind: { group: '', version: 'v1' } }), uid: UID },
  { name: 'object null on CREATE', body: review(daprPod(), { object: null }), uid: UID },
  { name: 'object a string on CREATE', body: review(daprPod(), { object: 'pod' }), uid: UID },
  { name: 'UPDATE without oldObject', body: review(daprPod(), { operation: 'UPDATE' }), uid: UID },
  {
    name: 'DELETE',
    body: review(daprPod(), { operation: 'DELETE', object: undefined, oldObject: daprPod() }),
    uid: UID,
  },
  { name: 'CONNECT', body: review(daprPod(), { operation: 'CONNECT', object: { kind: 'PodExecOptions' } }), uid: UID },
  { name: 'namespace an object', body: review(daprPod(), { namespace: { name: 'shop' } }), uid: UID },
  { name: 'name a number', body: review(daprPod(), { name: 7 }), uid: UID },
  { name: 'subResource null', body: review(daprPod(), { subResource: null }), uid: UID },
  { name: 'userInfo missing', body: review(daprPod(), { userInfo: undefined }), uid: UID },
  { name: 'userInfo null', body: review(daprPod(), { userInfo: null }), uid: UID },
  {
    name: '100k nested arrays in spec',
    body: reviewWithRaw(component('DEEP'), 'DEEP', nestedArrays(100_000)),
    uid: UID,
    budgetMs: 2000,
  },
  {
    name: '100k nested arrays in a metadata value',
    body: reviewWithRaw(
      component({ type: 'state.redis', metadata: [{ name: 'x', value: 'DEEP' }] }),
      'DEEP',
      nestedArrays(100_000),
    ),
    uid: UID,
    budgetMs: 2000,
  },
  {
    name: '100k nested objects in an annotation, /mutate',
    body: reviewWithRaw(daprPod({ deep: 'DEEP' }), 'DEEP', nestedObjects(100_000)),
    endpoint: '/mutate',
    uid: UID,
    budgetMs: 2000,
  },
  { name: '4 MiB annotation', body: review(daprPod({ big: 'x'.repeat(4 * 1024 * 1024) })), uid: UID, budgetMs: 2000 },
  {
    name: '5 MiB annotation: over the body limit',
    body: review(daprPod({ big: 'x'.repeat(DEFAULT_BODY_LIMIT_BYTES) })),
    uid: UID,
    budgetMs: 2000,
  },
  {
    name: '__proto__ at the root',
    body: review(daprPod()).replace('{"kind"', '{"__proto__":{"polluted":true},"kind"'),
    uid: UID,
  },
  {
    name: '__proto__ in annotations',
    body: review(daprPod({ p: 'PROTO' })).replace('"p":"PROTO"', '"__proto__":{"dapr.io/enabled":"false"}'),
    uid: UID,
  },
  {
    name: '__proto__ in the request',
    body: review(daprPod()).replace(`"uid":"${UID}"`, `"uid":"${UID}","__proto__":{"operation":"DELETE"}`),
    uid: UID,
  },
  {
    name: '__proto__ as a metadata item name',
    body: review(component({ type: 'state.redis', metadata: [{ name: '__proto__', value: 'x' }] })),
    uid: UID,
  },
  {
    name: 'constructor.prototype in metadata',
    body: review(component({ type: 'state.redis', metadata: { constructor: { prototype: { polluted: true } } } })),
    uid: UID,
  },
  { name: 'annotation value boolean', body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': true })), uid: UID },
  { name: 'annotation value number', body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': 2 })), uid: UID },
  { name: 'annotation value null', body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': null })), uid: UID },
  { name: 'annotation value object', body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': { m: 1 } })), uid: UID },
  { name: 'annotation value array', body: review(daprPod({ 'dapr.io/enabled': ['true'] })), uid: UID },
  {
    name: 'annotations a string',
    body: review({
      ...daprPod(),
      metadata: { name: 'web', annotations: 'dapr.io/enabled' as unknown as Record<string, string> },
    }),
    uid: UID,
  },
  {
    name: 'annotations an array',
    body: review({ ...daprPod(), metadata: { name: 'web', annotations: ['x'] as unknown as Record<string, string> } }),
    uid: UID,
  },
  { name: 'object without metadata', body: review({ kind: 'Pod', spec: {} }), uid: UID },
  {
    name: 'spec.metadata as a map',
    body: review(component({ type: 'state.redis', metadata: { redisPassword: 'x' } })),
    uid: UID,
  },
  {
    name: 'kind mismatch: request Pod, object Deployment',
    body: review({ ...daprPod(), kind: 'Deployment' }),
    uid: UID,
  },
  {
    name: 'kind mismatch: request Component, object Pod',
    body: review(daprPod(), { kind: { group: 'dapr.io', version: 'v1alpha1', kind: 'Component' } }),
    uid: UID,
  },
  // ReDoS: digits that a backtracking quantity regex would retry at every position once the 'x' fails it.
  {
    name: "ReDoS: a 100k-digit cpu limit ending in 'x', /validate",
    body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': `${'9'.repeat(100_000)}x` })),
    endpoint: '/validate',
    uid: UID,
    budgetMs: 50,
  },
  {
    name: "ReDoS: a 100k-digit cpu limit ending in 'x', /mutate",
    body: review(daprPod({ 'dapr.io/sidecar-cpu-limit': `${'9'.repeat(100_000)}x` })),
    endpoint: '/mutate',
    uid: UID,
    budgetMs: 50,
  },
  {
    name: '300k-digit Ki quantity',
    body: review(daprPod({ 'dapr.io/sidecar-memory-limit': `${'9'.repeat(300_000)}Ki` })),
    uid: UID,
    budgetMs: 1000,
  },
  {
    name: '20k flagged fields',
    body: review(
      component({
        type: 'state.redis',
        metadata: Array.from({ length: 20_000 }, (_, index) => ({ name: `password${index}`, value: 'x' })),
      }),
    ),
    uid: UID,
    budgetMs: 2000,
  },
];

// eslint-disable-next-line regexp/no-super-linear-move -- tested on replies of at most a few KiB that the test itself provoked
const STACK_TRACE = /\n\s+at .+:\d+:\d+|\bat [\w.<>]+ \(/;

function assertAnswered(bad: BadInput, status: number, text: string, ms: number): void {
  assert.equal(status, 200, bad.name);
  const reply = JSON.parse(text) as AdmissionReview;
  assert.equal(reply.kind, 'AdmissionReview', bad.name);
  assert.equal(reply.apiVersion, bad.apiVersion ?? V1, bad.name);
  assert.equal(reply.response?.uid, bad.uid ?? '', bad.name);
  assert.equal(typeof reply.response?.allowed, 'boolean', bad.name);
  assert.doesNotMatch(text, STACK_TRACE, bad.name);
  assert.ok(ms < (bad.budgetMs ?? 500), `${bad.name}: answered after ${Math.round(ms)} ms`);
}

function productionPolicy(): ReturnType<typeof testPolicy> {
  return testPolicy(configuredRules(buildConfig([], RULE_IDS)));
}

describe('the bad-input set', () => {
  test('has every class of the review', () => assert.equal(CASES.length, 55));

  describe('through the app', () => {
    let app: App;
    before(() => {
      const logger = pino({ level: 'silent' }, new Writable({ write: (_chunk, _encoding, done) => done() }));
      app = buildApp({
        policy: productionPolicy(),
        logger,
        metrics: createMetrics({ defaultMetrics: false }),
        bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
        readiness: () => ({ ready: true }),
      });
    });
    for (const bad of CASES) {
      test(bad.name, async () => {
        const started = performance.now();
        const headers = bad.contentType === '' ? {} : { 'content-type': bad.contentType ?? 'application/json' };
        const response = await app.inject({
          method: 'POST',
          url: bad.endpoint ?? '/validate',
          payload: bad.body,
          headers,
        });
        assertAnswered(bad, response.statusCode, response.body, performance.now() - started);
      });
    }
    test('afterwards a plain Dapr Pod still gets its defaults: Object.prototype is clean', async () => {
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      const response = await app.inject({
        method: 'POST',
        url: '/mutate',
        payload: review(daprPod()),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(response.json<AdmissionReview>().response?.patchType, 'JSONPatch');
    });
  });

  describe('over HTTP/2, one session', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(() => server.close());
    const overTls = CASES.filter((bad) => bad.contentType !== '');
    test('sends every case that has a Content-Type', () => assert.equal(overTls.length, CASES.length - 1));
    test('every case is answered on the same session', async () => {
      const session = http2Session(server.baseUrl, server.ca);
      try {
        for (const bad of overTls) {
          const started = performance.now();
          const result = await postHttp2(
            session,
            bad.endpoint ?? '/validate',
            bad.body,
            bad.contentType ?? 'application/json',
          );
          assertAnswered(
            { ...bad, budgetMs: (bad.budgetMs ?? 500) * 2 },
            result.status,
            result.body,
            performance.now() - started,
          );
        }
      } finally {
        session.close();
      }
    });
  });
});
