import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import { diff, encodePatch } from '../../src/admission/json-patch.ts';

test('diff escapes / and ~ in keys (RFC 6901)', () => {
  const original = { metadata: { annotations: { 'a~b': 'x' } } };
  const mutated = { metadata: { annotations: { 'a~b': 'y', 'dapr.io/sidecar-cpu-limit': '4' } } };
  assert.deepEqual(diff(original, mutated), [
    { op: 'replace', path: '/metadata/annotations/a~0b', value: 'y' },
    { op: 'add', path: '/metadata/annotations/dapr.io~1sidecar-cpu-limit', value: '4' },
  ]);
});

test('diff adds a missing map whole', () => {
  assert.deepEqual(diff({ metadata: {} }, { metadata: { annotations: { k: 'v' } } }), [
    { op: 'add', path: '/metadata/annotations', value: { k: 'v' } },
  ]);
});

test('encodePatch gives base64 JSON that applies back to the mutated object, and nothing for an empty patch', () => {
  const original = { metadata: { name: 'p' } };
  const mutated = { metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } } };
  const encoded = encodePatch(diff(original, mutated));
  assert.ok(encoded !== undefined);
  const operations = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as fastJsonPatch.Operation[];
  assert.deepEqual(fastJsonPatch.applyPatch(structuredClone(original), operations).newDocument, mutated);
  assert.equal(encodePatch([]), undefined);
});
