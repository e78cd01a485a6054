/**
 * Each rule's `kinds` (what a report lists it for, e.g. JUnit's test case per object and rule) must hold
 * every kind the rule ever finds something in: recorded and real objects through the whole review core,
 * each finding checked against its rule's list.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindResourceOf } from '../../src/admission/kinds.ts';
import type { KubeObject } from '../../src/admission/wire.ts';
import { buildConfig } from '../../src/config/config.ts';
import { configuredRules } from '../../src/config/policy.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { reviewObject } from '../../src/webhook/review-object.ts';
import { fixtureFiles, jsonFixture, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';

const RULES = configuredRules(buildConfig([], RULE_IDS));
const POLICY = testPolicy(RULES);

function recordedObjects(): KubeObject[] {
  const yaml = ['dapr-corpus/', 'dapr-manifests/rendered/'].flatMap((directory) =>
    fixtureFiles(directory, '.yaml').flatMap((path) => yamlObjects(path)),
  );
  const reviews = fixtureFiles('reviews/', '.json').map(
    (path) => jsonFixture<{ request: { object: KubeObject } }>(path).request.object,
  );
  const injected = fixtureFiles('injected-pods/', '.json').map((path) => jsonFixture<KubeObject>(path));
  return [...yaml, ...reviews, ...injected];
}

/** rule id → the kinds of the objects it found something in. */
function kindsFound(objects: readonly KubeObject[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const object of objects) {
    const review = reviewObject(object, {}, POLICY);
    if (!review.ok) continue;
    for (const { ruleId } of [...review.violations, ...review.mutations]) {
      found.set(ruleId, (found.get(ruleId) ?? new Set()).add(object.kind ?? ''));
    }
  }
  return found;
}

describe('rule kinds', () => {
  it('every kind a rule names is one the webhooks know the resource of', () => {
    assert.equal(RULES.length, RULE_IDS.length);
    for (const rule of RULES) {
      assert.ok(rule.kinds.length > 0, rule.id);
      for (const kind of rule.kinds) assert.ok(kindResourceOf(kind) !== undefined, `${rule.id}: ${kind}`);
    }
  });

  it('no rule finds anything in a kind it does not list, over the corpus, the Dapr renderings and recorded objects', () => {
    const objects = recordedObjects();
    assert.ok(objects.length > 500, `${objects.length} objects`);
    const found = kindsFound(objects);
    // Most rules find something in these objects: the check is not vacuous.
    assert.ok(found.size >= 7, [...found.keys()].join(', '));
    for (const [ruleId, kinds] of found) {
      const rule = RULES.find((candidate) => candidate.id === ruleId);
      if (rule === undefined) continue; // the policy's own checks (exemptions, namespace labels)
      for (const kind of kinds) assert.ok(rule.kinds.includes(kind), `${ruleId} found something in a ${kind}`);
    }
  });
});
