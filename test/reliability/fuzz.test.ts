/**
 * Property-based fuzzing of the review core (issue 15, scenario 5): arbitrary bytes and JSON, and the
 * recorded reviews (test/fixtures/reviews) and corpus objects (test/fixtures/dapr-corpus) with fields
 * deleted, retyped, duplicated, nested or made enormous. For every input, on /mutate and /validate:
 * reviewAdmission never throws and never fails internally (no 500), the reply is a well-formed
 * AdmissionReview echoing the uid it could read, its patch applies to the object, the review takes
 * bounded time, and no planted secret value appears in the reply or the review's log line. reviewObject
 * (the offline check and the audit) is held to the same on the same objects.
 *
 * `npm test`: a fixed seed and a bounded count. `npm run test:fuzz`: FUZZ_RUNS cases per property from a
 * random seed (FUZZ_SEED to replay one), printed in the test's diagnostics.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Endpoint } from '../../src/admission/endpoint.ts';
import { applyPatch, type PatchOperation } from '../../src/admission/json-patch.ts';
import { KNOWN_KINDS } from '../../src/admission/kinds.ts';
import { ADMISSION_API_VERSIONS, MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../src/config/options.ts';
import { policyOf } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { logReview } from '../../src/server/review-log.ts';
import { reviewObject } from '../../src/webhook/review-object.ts';
import { reviewAdmission } from '../../src/webhook/review.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { admissionRequest, admissionReviewBody } from '../support/requests.ts';
import { LINEAR_BOUND_MS, MIB, timed } from '../support/timing.ts';
import { isRecord, type JsonRecord } from '../../src/util/json.ts';

const LONG_RUN = process.env['FUZZ_RUNS'] !== undefined;
/** Cases per property: bounded in `npm test`, FUZZ_RUNS in the long run. */
const RUNS = LONG_RUN ? Number(process.env['FUZZ_RUNS']) : 150;
const SEED = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : LONG_RUN ? randomSeed() : 15;
/** Strings and lists the "enormous" change builds: 64 KiB in `npm test` (a quadratic regex takes seconds there), 1 MiB in the long run. */
const ENORMOUS_BYTES = LONG_RUN ? 1024 * 1024 : 64 * 1024;
/**
 * Per review, on the fastest of three calls (test/support/timing.ts), plus as much per MiB of body:
 * parsing a MiB of JSON with thousands of distinct keys takes ~100 ms on this machine under load
 * (V8's JSON.parse and the collector, linear); a backtracking regex on 64 KiB takes seconds to hours.
 */
const REVIEW_BOUND_MS = LINEAR_BOUND_MS * 4;
const REVIEW_BOUND_MS_PER_MIB = LINEAR_BOUND_MS * 5;
/** Bodies the server would accept (server.bodyLimitBytes); 1 MiB in `npm test` to keep it short. */
const MAX_BODY_BYTES = LONG_RUN ? DEFAULT_BODY_LIMIT_BYTES : MIB;
/** Of a counterexample, what a failure prints: enough to see its shape, not megabytes. */
const SHOWN_CHARACTERS = 2000;

function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

const policy = policyOf(buildConfig([{ namespaceModes: { source: 'off' } }], RULE_IDS), () => undefined);
const ENDPOINTS: readonly Endpoint[] = ['mutate', 'validate'];

// Recognisable secret values, planted where credentials go; none may ever appear in any output.
const PLANTED = ['fuzz-planted-password-Zq81x', 'fuzz-planted-conn-Kw27v', 'fuzz-planted-url-Jm54r'] as const;
const [PASSWORD, CONNECTION_PASSWORD, URL_PASSWORD] = PLANTED;
const PLANTED_METADATA = [
  { name: 'password', value: PASSWORD },
  { name: 'connectionString', value: `Server=db.shop;User Id=app;Password=${CONNECTION_PASSWORD};` },
  { name: 'redisHost', value: `redis://admin:${URL_PASSWORD}@redis.shop:6379` },
] as const;
/** The plaintext redisPassword of the recorded Component review (also in its last-applied annotation). */
const RECORDED_SECRET = 'KeFg23!';

/** The recorded reviews, with planted secrets in every Component. */
const RECORDED_REVIEWS: readonly JsonRecord[] = fixtureFiles('reviews', '.json').map((file) =>
  plantSecrets(JSON.parse(JSON.stringify(jsonFixture(file)).replaceAll(RECORDED_SECRET, PASSWORD)) as JsonRecord),
);
/** Every corpus object of a kind dapr-guard reviews, as the review the API server would send. */
const CORPUS_REVIEWS: readonly JsonRecord[] = fixtureFiles('dapr-corpus', '.yaml')
  .flatMap((file) => yamlObjects(file))
  .filter((object) => KNOWN_KINDS.includes(object.kind ?? ''))
  .map((object) => plantSecrets(JSON.parse(admissionReviewBody(admissionRequest(object))) as JsonRecord));
const SEEDS = [...RECORDED_REVIEWS, ...CORPUS_REVIEWS];

function plantSecrets(review: JsonRecord): JsonRecord {
  const object = (review['request'] as JsonRecord | undefined)?.['object'];
  if (!isRecord(object) || object['kind'] !== 'Component' || !isRecord(object['spec'])) return review;
  const metadata: unknown[] = Array.isArray(object['spec']['metadata'])
    ? (object['spec']['metadata'] as unknown[])
    : [];
  object['spec']['metadata'] = [...metadata, ...PLANTED_METADATA.map((item) => ({ ...item }))];
  return review;
}

// ---- changes to a recorded review ------------------------------------------------------------

type Change =
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'retype'; readonly at: number; readonly value: unknown }
  | { readonly op: 'duplicate'; readonly at: number }
  | { readonly op: 'nest'; readonly at: number; readonly depth: number; readonly inArray: boolean }
  | { readonly op: 'enormous'; readonly at: number; readonly chunk: string };

/** Characters the rules' patterns look at (quantities, URLs, names): repeated, they probe regex backtracking. */
const HOSTILE_CHUNKS = [
  '1',
  '1.',
  'e',
  ' ',
  ':',
  '@',
  '//',
  '=',
  ';',
  'a-',
  'Mi',
  '0x',
  '\\',
  '%',
  'password',
  '\u00e9',
];

const changeArbitrary: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.integer({ min: 1, max: 1000 }),
    inArray: fc.boolean(),
  }),
  fc.record({ op: fc.constant('enormous' as const), at: fc.nat(), chunk: fc.constantFrom(...HOSTILE_CHUNKS) }),
);

interface Slot {
  readonly parent: JsonRecord | unknown[];
  readonly key: string | number;
}

/** Every place in `value` a change can hit: each object property and array element (iterative: nesting goes deep). */
function slotsOf(value: unknown): Slot[] {
  const slots: Slot[] = [];
  const pending: unknown[] = [value];
  for (let next = pending.pop(); next !== undefined || pending.length > 0; next = pending.pop()) {
    if (Array.isArray(next)) {
      const list: unknown[] = next;
      list.forEach((_item, index) => slots.push({ parent: list, key: index }));
      pending.push(...list);
    } else if (isRecord(next)) {
      const record = next;
      for (const key of Object.keys(record)) slots.push({ parent: record, key });
      pending.push(...Object.values(record));
    }
  }
  return slots;
}

function applyChange(review: JsonRecord, change: Change): void {
  const slots = slotsOf(review);
  const slot = slots[change.at % slots.length];
  if (slot === undefined) return;
  const { parent, key } = slot;
  const current = (parent as Record<string | number, unknown>)[key];
  const set = (value: unknown): void => void ((parent as Record<string | number, unknown>)[key] = value);
  switch (change.op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return;
    case 'retype':
      return set(change.value);
    case 'duplicate':
      if (Array.isArray(parent)) parent.splice(key as number, 0, jsonCopy(current));
      else parent[`${String(key)}-copy`] = jsonCopy(current);
      return;
    case 'nest':
      return set(nested(current, change.depth, change.inArray));
    case 'enormous':
      return set(enormous(current, change.chunk));
  }
}

/** A deep copy through JSON: structuredClone runs out of stack on the nesting `nest` builds. */
function jsonCopy(value: unknown): unknown {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
}

function nested(value: unknown, depth: number, inArray: boolean): unknown {
  let result = value;
  for (let level = 0; level < depth; level += 1) result = inArray ? [result] : { a: result };
  return result;
}

/** A string of the hostile chunk, a list of copies or an object of many keys, about ENORMOUS_BYTES large. */
function enormous(value: unknown, chunk: string): unknown {
  const copiesOf = (item: unknown): number =>
    Math.max(1, Math.floor(ENORMOUS_BYTES / Math.max(16, JSON.stringify(item).length)));
  if (Array.isArray(value)) {
    const item: unknown = (value as unknown[])[0] ?? chunk;
    return Array.from({ length: copiesOf(item) }, () => jsonCopy(item));
  }
  if (isRecord(value))
    return Object.fromEntries(Array.from({ length: copiesOf(chunk) }, (_, index) => [`${chunk}${index}`, chunk]));
  return `${typeof value === 'string' ? value : ''}${chunk.repeat(Math.ceil(ENORMOUS_BYTES / chunk.length))}`;
}

interface ChangedReview {
  readonly review: JsonRecord;
  readonly body: Buffer;
}

/** A seed with one to four changes, as the body the API server would send; larger than the server accepts is left out. */
const changedReviewArbitrary: fc.Arbitrary<ChangedReview> = fc
  .tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(changeArbitrary, { minLength: 1, maxLength: 4 }))
  .map(([index, changes]) => {
    const review = structuredClone(SEEDS[index] ?? {});
    let body = Buffer.from(JSON.stringify(review));
    for (const change of changes) {
      if (body.byteLength > MAX_BODY_BYTES) break;
      applyChange(review, change);
      body = Buffer.from(JSON.stringify(review));
    }
    return { review, body };
  })
  .filter(({ body }) => body.byteLength <= MAX_BODY_BYTES);

// ---- what every reply must be ----------------------------------------------------------------

const RESPONSE_KEYS = new Set(['uid', 'allowed', 'status', 'patch', 'patchType', 'warnings', 'auditAnnotations']);

/** The uid a reply must echo: the request's when the body parses and it is a string, else what can be sniffed. */
function expectedUid(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const request = value['request'];
  if (!isRecord(request)) return '';
  return typeof request['uid'] === 'string' ? request['uid'] : '';
}

function assertWellFormed(text: string, uid: string | undefined, object: unknown): void {
  const review = JSON.parse(text) as JsonRecord;
  assert.equal(review['kind'], 'AdmissionReview');
  assert.ok((ADMISSION_API_VERSIONS as readonly unknown[]).includes(review['apiVersion']), 'apiVersion');
  const response = review['response'];
  assert.ok(isRecord(response), 'a response');
  assert.deepEqual(
    Object.keys(response).filter((key) => !RESPONSE_KEYS.has(key)),
    [],
  );
  assert.equal(typeof response['uid'], 'string');
  if (uid !== undefined) assert.equal(response['uid'], uid, 'the uid is echoed');
  assert.equal(typeof response['allowed'], 'boolean');
  if (response['allowed'] === false) assertDenialStatus(response['status']);
  assertWarnings(response['warnings']);
  if (response['patch'] !== undefined) assertPatchApplies(response, object);
}

function assertDenialStatus(status: unknown): void {
  assert.ok(isRecord(status), 'a denial has a status');
  assert.equal(typeof status['message'], 'string');
  assert.equal(typeof status['code'], 'number');
  assert.notEqual(status['code'], 500, `no internal error: ${String(status['message'])}`);
}

function assertWarnings(warnings: unknown): void {
  if (warnings === undefined) return;
  assert.ok(Array.isArray(warnings));
  for (const warning of warnings) {
    assert.equal(typeof warning, 'string');
    assert.ok((warning as string).length <= MAX_WARNING_LENGTH, `warning within ${MAX_WARNING_LENGTH} characters`);
  }
}

function assertPatchApplies(response: JsonRecord, object: unknown): void {
  assert.equal(response['patchType'], 'JSONPatch');
  const operations = JSON.parse(Buffer.from(String(response['patch']), 'base64').toString('utf8')) as PatchOperation[];
  assert.ok(Array.isArray(operations) && operations.length > 0, 'a patch has operations');
  assert.ok(isRecord(object), 'only an object is patched');
  applyPatch(structuredClone(object), operations);
}

function assertNoPlantedSecret(output: string, where: string): void {
  for (const secret of PLANTED) assert.ok(!output.includes(secret), `${where} leaks a planted secret value`);
}

/** The review's log line as the server writes it, captured. */
function logLineOf(outcome: ReturnType<typeof reviewAdmission>, endpoint: Endpoint): string {
  let line = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      line += chunk.toString('utf8');
      done();
    },
  });
  logReview(pino({ level: 'info' }, sink), { outcome, endpoint, durationSeconds: 0 });
  return line;
}

function reviewWithinBound(body: Uint8Array, endpoint: Endpoint): ReturnType<typeof reviewAdmission> {
  const raw = { contentType: 'application/json', body };
  const boundMs = REVIEW_BOUND_MS + (REVIEW_BOUND_MS_PER_MIB * body.byteLength) / MIB;
  const started = performance.now();
  const outcome = reviewAdmission(raw, policy, endpoint);
  const ms = performance.now() - started;
  slowest.ms = Math.max(slowest.ms, ms);
  slowest.bytes = Math.max(slowest.bytes, body.byteLength);
  // Timed again (fastest of three) only when slow, so that a noisy moment does not fail a linear review.
  if (ms > boundMs) {
    const { ms: fastest } = timed(() => reviewAdmission(raw, policy, endpoint));
    assert.ok(fastest <= boundMs, `a review of ${body.byteLength} bytes took ${Math.round(fastest)} ms`);
  }
  return outcome;
}

/** The whole contract, on both endpoints, for one body. */
function checkBody(body: Uint8Array, sniffedUid?: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const object = isRecord(parsed) && isRecord(parsed['request']) ? parsed['request']['object'] : undefined;
  for (const endpoint of ENDPOINTS) {
    const outcome = reviewWithinBound(body, endpoint);
    const text = JSON.stringify(outcome.review);
    assertWellFormed(text, expectedUid(parsed) ?? sniffedUid, object);
    assertNoPlantedSecret(text, `the /${endpoint} reply`);
    assertNoPlantedSecret(logLineOf(outcome, endpoint), `the /${endpoint} log line`);
    if (!outcome.ok) assertNoPlantedSecret(outcome.message, `the /${endpoint} error message`);
  }
}

/** reviewObject on the request's object, when it has one: never throws, and only `mutated` may hold the object's values. */
function checkReviewObject(review: JsonRecord): void {
  const request = review['request'];
  const object = isRecord(request) ? request['object'] : undefined;
  if (!isRecord(object)) return;
  const result = reviewObject(object, {}, policy);
  if (!result.ok) return assertNoPlantedSecret(result.message, 'reviewObject');
  const { mutated: _mutated, ...findings } = result;
  assertNoPlantedSecret(JSON.stringify(findings), 'reviewObject');
}

/** The slowest review and the largest body of the current property, for its diagnostics. */
const slowest = { ms: 0, bytes: 0 };

function runProperty<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => void, report: (text: string) => void): void {
  let cases = 0;
  slowest.ms = 0;
  slowest.bytes = 0;
  fc.assert(
    fc.property(arbitrary, (value) => {
      cases += 1;
      check(value);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true, reporter: throwShortly },
  );
  assert.ok(cases >= RUNS, `${cases} cases ran`);
  report(
    `${cases} cases, seed ${SEED}; slowest review ${slowest.ms.toFixed(1)} ms; largest body ${slowest.bytes} bytes`,
  );
}

/** fast-check's failure report with the counterexample clipped: an enormous one would flood the output. */
function throwShortly<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
  const cause =
    details.errorInstance instanceof Error
      ? (details.errorInstance.stack ?? details.errorInstance.message).split('\n').slice(0, 8).join('\n')
      : String(details.errorInstance);
  throw new Error(
    `property failed after ${details.numRuns} cases (replay: FUZZ_SEED=${details.seed}, path ${details.counterexamplePath ?? ''}): ${cause}\n` +
      `counterexample (${example.length} characters): ${example.slice(0, SHOWN_CHARACTERS)}`,
  );
}

describe(`fuzzing the review core (${RUNS} cases per property, seed ${SEED})`, () => {
  test('the seeds: recorded reviews and corpus objects, secrets planted in every Component', () => {
    assert.equal(RECORDED_REVIEWS.length, 7);
    assert.ok(CORPUS_REVIEWS.length >= 250, `${CORPUS_REVIEWS.length} corpus reviews`);
    const components = SEEDS.filter((review) => JSON.stringify(review).includes(PASSWORD));
    assert.ok(components.length >= 100, `${components.length} Components with planted secrets`);
    // The planted values are refused by name, never quoted: the property below depends on the rules seeing them.
    const recorded = reviewAdmission(
      { contentType: 'application/json', body: Buffer.from(JSON.stringify(RECORDED_REVIEWS[0])) },
      policy,
      'validate',
    );
    assert.equal(recorded.review.response?.allowed, false);
    assert.match(recorded.review.response?.status?.message ?? '', /redisPassword/);
  });

  test('recorded reviews with fields deleted, retyped, duplicated, nested or enormous', (t) => {
    runProperty(
      changedReviewArbitrary,
      ({ review, body }) => {
        checkBody(body);
        checkReviewObject(review);
      },
      (text) => t.diagnostic(text),
    );
  });

  test('arbitrary JSON as the body, and as the request of an AdmissionReview', (t) => {
    const bodies = fc.oneof(
      fc.jsonValue(),
      fc.record({
        kind: fc.constant('AdmissionReview'),
        apiVersion: fc.constantFrom(...ADMISSION_API_VERSIONS, 'admission.k8s.io/v2'),
        request: fc.oneof(
          fc.jsonValue(),
          fc.dictionary(fc.constantFrom('uid', 'kind', 'operation', 'object', 'oldObject', 'userInfo'), fc.jsonValue()),
        ),
      }),
    );
    runProperty(
      bodies,
      (value) => checkBody(Buffer.from(JSON.stringify(value))),
      (text) => t.diagnostic(text),
    );
  });

  test('arbitrary bytes, alone and after the start of a recorded review', (t) => {
    const recorded = RECORDED_REVIEWS[0];
    const uid = expectedUid(recorded);
    const start = Buffer.from(JSON.stringify(recorded).slice(0, 200));
    assert.ok(uid !== undefined && uid !== '' && start.includes(uid), 'the start holds the uid');
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 4096, size: 'max' }).map((bytes) => ({ body: bytes, uid: undefined })),
      fc.uint8Array({ maxLength: 4096, size: 'max' }).map((bytes) => ({ body: Buffer.concat([start, bytes]), uid })),
    );
    runProperty(
      bodies,
      ({ body, uid: sniffed }) => checkBody(body, sniffed),
      (text) => t.diagnostic(text),
    );
  });
});
