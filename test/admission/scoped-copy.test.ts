import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffAt } from '../../src/admission/json-patch.ts';
import { cloneJson } from '../../src/admission/json-clone.ts';
import { copyAlongPath } from '../../src/admission/scoped-copy.ts';
import { jsonFixture } from '../support/fixtures.ts';

type Json = Record<string, unknown>;
const object = (): Json => ({
  metadata: { name: 'p', annotations: { a: '1' }, managedFields: [{ manager: 'kubectl' }] },
  spec: { containers: [{ name: 'c' }] },
});

test('copyAlongPath deep-copies the scope, shallow-copies the way there and shares the rest', () => {
  const original = object();
  const { copy, anchor } = copyAlongPath(original, ['metadata', 'annotations']);
  assert.deepEqual(anchor, ['metadata', 'annotations']);
  assert.deepEqual(copy, original);
  const [copyMeta, originalMeta] = [copy['metadata'] as Json, original['metadata'] as Json];
  assert.notEqual(copyMeta, originalMeta);
  assert.notEqual(copyMeta['annotations'], originalMeta['annotations']);
  assert.equal(copyMeta['managedFields'], originalMeta['managedFields']);
  assert.equal(copy['spec'], original['spec']);
  (copyMeta['annotations'] as Json)['b'] = '2';
  assert.deepEqual(original, object());
});

test('when the scope does not exist yet, the anchor is its deepest existing parent', () => {
  const original = { metadata: { name: 'p' }, spec: {} };
  const { copy, anchor } = copyAlongPath(original, ['spec', 'template', 'metadata', 'annotations']);
  assert.deepEqual(anchor, ['spec']);
  (copy['spec'] as Json)['template'] = { metadata: { annotations: { x: 'y' } } };
  assert.deepEqual(original, { metadata: { name: 'p' }, spec: {} });
  assert.deepEqual(diffAt(original, copy, anchor), [
    { op: 'add', path: '/spec/template', value: { metadata: { annotations: { x: 'y' } } } },
  ]);
});

test('an empty scope copies the whole object deeply', () => {
  const original = object();
  const { copy, anchor } = copyAlongPath(original, []);
  assert.deepEqual(anchor, []);
  assert.notEqual(copy['spec'], original['spec']);
});

test('diffAt gives the same operations as a whole-object diff, with escaped paths', () => {
  const recorded = jsonFixture<{ request: { object: Json } }>('reviews/deployment-create-orders.json').request.object;
  const scope = ['spec', 'template', 'metadata', 'annotations'];
  const { copy, anchor } = copyAlongPath(recorded, scope);
  const annotations = ((copy['spec'] as Json)['template'] as Json)['metadata'] as Json;
  (annotations['annotations'] as Json)['dapr.io/sidecar-cpu-limit'] = '4';
  const whole = cloneJson(recorded);
  ((((whole['spec'] as Json)['template'] as Json)['metadata'] as Json)['annotations'] as Json)[
    'dapr.io/sidecar-cpu-limit'
  ] = '4';
  const expected = [{ op: 'add', path: '/spec/template/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '4' }];
  assert.deepEqual(diffAt(recorded, copy, anchor), expected);
  assert.deepEqual(diffAt(recorded, whole, []), expected);
});

test('cloneJson keeps a "__proto__" key as data and never changes a prototype', () => {
  const parsed = JSON.parse('{"a":{"__proto__":{"polluted":true},"b":1}}') as Json;
  const copy = cloneJson(parsed);
  assert.deepEqual(Object.keys(copy['a'] as Json), ['__proto__', 'b']);
  assert.equal(Object.getPrototypeOf(copy['a']), Object.prototype);
  assert.equal((copy['a'] as Json)['polluted'], undefined);
  assert.deepEqual(diffAt(parsed, copy, []), []);
});
