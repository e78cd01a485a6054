import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { PatchOperation } from '../../src/admission/json-patch.ts';
import { buildConfig } from '../../src/config/config.ts';
import { policyOf } from '../../src/config/policy.ts';
import { checkManifests, type ObjectPatch } from '../../src/cli/check/check.ts';
import { parseManifests } from '../../src/cli/check/documents.ts';
import { fixedText } from '../../src/cli/check/fix.ts';
import { RULE_IDS } from '../../src/rules/index.ts';

const POLICY = policyOf(buildConfig([], RULE_IDS), () => undefined);
const ADDED = {
  'dapr.io/sidecar-cpu-request': '100m',
  'dapr.io/sidecar-cpu-limit': '4',
  'dapr.io/sidecar-memory-request': '250Mi',
  'dapr.io/sidecar-memory-limit': '4000Mi',
};

/** The text as `dapr-guard check --fix` writes it: the patches come from the rules themselves. */
function fixed(path: string, text: string): string {
  const result = checkManifests(
    { texts: [{ path, text }], problems: [], sources: [path] },
    { policy: POLICY, defaultNamespace: 'default', userInfo: {} },
  );
  assert.deepEqual(result.problems, []);
  const [fix] = result.fixes;
  assert.ok(fix && fix.patches.length > 0, 'the rules change something');
  const written = fixedText(text, fix.patches);
  assert.ok(written.ok, written.ok ? '' : written.message);
  return written.text;
}

describe('--fix writes the defaults in the style of the file', () => {
  test('YAML flow mapping, single-quoted values: after the last entry, single-quoted', () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {dapr.io/enabled: 'true'}} # flow\nspec: {containers: [{name: a, image: b}]}\n";
    assert.equal(
      fixed('pod.yaml', text),
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {dapr.io/enabled: 'true', dapr.io/sidecar-cpu-request: '100m', dapr.io/sidecar-cpu-limit: '4', dapr.io/sidecar-memory-request: '250Mi', dapr.io/sidecar-memory-limit: '4000Mi'}} # flow\nspec: {containers: [{name: a, image: b}]}\n",
    );
  });

  test('pretty-printed JSON: one entry per line, in its indentation', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } },
      spec: { containers: [{ name: 'a', image: 'b' }] },
    };
    const text = `${JSON.stringify(pod, null, 2)}\n`;
    const expected = { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, ...ADDED } } };
    assert.equal(fixed('pod.json', text), `${JSON.stringify(expected, null, 2)}\n`);
  });

  test('compact JSON: on the same line', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } } };
    assert.equal(
      fixed('pod.json', JSON.stringify(pod)),
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"dapr.io/enabled":"true", "dapr.io/sidecar-cpu-request": "100m", "dapr.io/sidecar-cpu-limit": "4", "dapr.io/sidecar-memory-request": "250Mi", "dapr.io/sidecar-memory-limit": "4000Mi"}}}',
    );
  });

  test('a block scalar as the last annotation: the new keys go after it, before the comment line', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    dapr.io/enabled: "true"\n    dapr.io/config: |\n      tracing\n    # end\nspec: {}\n';
    const out = fixed('pod.yaml', text);
    assert.equal(
      out,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    dapr.io/enabled: "true"\n    dapr.io/config: |\n      tracing\n    dapr.io/sidecar-cpu-request: "100m"\n    dapr.io/sidecar-cpu-limit: "4"\n    dapr.io/sidecar-memory-request: "250Mi"\n    dapr.io/sidecar-memory-limit: "4000Mi"\n    # end\nspec: {}\n',
    );
  });
});

describe('--fix refuses what it cannot write exactly, and leaves the file alone', () => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: none\n';
  const parsed = parseManifests({ path: 'pod.yaml', text });
  assert.ok(parsed.ok);
  const source = parsed.file.objects[0];
  assert.ok(source);
  const table: [string, PatchOperation, RegExp][] = [
    [
      'a remove',
      { op: 'remove', path: '/metadata/name' },
      /^--fix cannot write \/metadata\/name in place: a "remove" operation; the file is left as it was$/,
    ],
    [
      'a key under a scalar',
      { op: 'add', path: '/metadata/labels/app', value: 'x' },
      /^--fix cannot write \/metadata\/labels\/app in place: its parent is not a mapping;/,
    ],
  ];
  for (const [name, operation, message] of table) {
    test(name, () => {
      const patches: ObjectPatch[] = [{ source, patch: [operation] }];
      const result = fixedText(text, patches);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.message, message);
    });
  }

  test('a missing mapping is created where it belongs', () => {
    const patches: ObjectPatch[] = [
      { source, patch: [{ op: 'add', path: '/metadata/annotations', value: { 'dapr.io/app-id': 'p' } }] },
    ];
    const result = fixedText(text, patches);
    assert.ok(result.ok);
    assert.equal(
      result.text,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: none\n  annotations:\n    dapr.io/app-id: p\n',
    );
    assert.deepEqual(parseAllDocuments(result.text)[0]?.toJS(), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: 'none', annotations: { 'dapr.io/app-id': 'p' } },
    });
  });
});
