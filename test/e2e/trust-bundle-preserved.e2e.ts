/**
 * trust-bundle-preserved end to end, through the chart's trust-bundle entry: replacing the Secret and
 * ConfigMap dapr-trust-bundle of a control-plane namespace with a new root is warned about (the rule's
 * default mode) or refused (rules.trust-bundle-preserved.mode enforce); rotating only the issuer passes;
 * other Secrets of the namespace never reach dapr-guard where matchConditions exist (1.28+); the
 * issuer key appears in no output and not in dapr-guard's log.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { fixtureText } from '../support/fixtures.ts';
import { lines, warningLine } from './support/expected.ts';
import { describeResult, toManifest } from './support/kubectl.ts';
import { Scenario, SETUP_TIMEOUT_MS } from './support/scenario.ts';
import { WEBHOOK } from './support/webhooks.ts';

const RULE = 'trust-bundle-preserved';
const pem = (name: string): string => fixtureText(`trust-bundle/${name}`);
const ROOT_A = pem('root-a.crt');
const ROOT_B = pem('root-b.crt');
const ISSUER_1 = { crt: pem('issuer-1.crt'), key: pem('issuer-1.key') };
const ISSUER_2 = { crt: pem('issuer-2.crt'), key: pem('issuer-2.key') };

const CARRY_OVER =
  'carry it over: dapr mtls export; helm upgrade … --set-file dapr_sentry.tls.root.certPEM=ca.crt,dapr_sentry.tls.issuer.certPEM=issuer.crt,dapr_sentry.tls.issuer.keyPEM=issuer.key';
const droppedRoot = (kind: string): string => `${kind} dapr-trust-bundle drops its root CA — ${CARRY_OVER}`;

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The Secret as the Dapr chart renders it with `dapr_sentry.tls.*` set (labels of dapr_sentry_deployment.yaml). */
function trustBundleSecret(namespace: string, root: string, issuer: { crt: string; key: string }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'dapr-trust-bundle', namespace, labels: { app: 'dapr-sentry' } },
    data: { 'ca.crt': base64(root), 'issuer.crt': base64(issuer.crt), 'issuer.key': base64(issuer.key) },
  };
}

function trustBundleConfigMap(namespace: string, root: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dapr-trust-bundle', namespace, labels: { app: 'dapr-sentry' } },
    data: { 'ca.crt': root },
  };
}

function scenarioFor(name: string, extraArgs: readonly string[]): Scenario {
  return new Scenario({
    name,
    guard: { mode: 'enforce', extraArgs },
    namespaces: { cp: {} },
    chartValues: (namespace) => ({ webhooks: { trustBundle: { namespaces: [namespace('cp')] } } }),
  });
}

/** `kubectl replace -f -`: unlike apply, it prints no patch (with the Secret's data) next to a denial. */
function replace(scenario: Scenario, object: KubeObject): ReturnType<Scenario['kubectl']['run']> {
  return scenario.kubectl.run(['replace', '-f', '-'], { input: toManifest(object) });
}

function assertNoKeyMaterial(scenario: Scenario, outputs: readonly string[]): void {
  const keyLines = [ISSUER_1.key, ISSUER_2.key].map((key) => key.split('\n')[1] ?? '');
  assert.equal(keyLines.length, 2);
  const log = readFileSync(scenario.guard.logFile, 'utf8');
  for (const keyLine of keyLines) {
    assert.ok(keyLine.length > 20);
    for (const text of [...outputs, log]) {
      assert.equal(text.includes(keyLine), false, 'an issuer key in the output or the log');
      assert.equal(
        text.includes(base64(keyLine).slice(0, 24)),
        false,
        'an issuer key (base64) in the output or the log',
      );
    }
  }
}

describe('trust-bundle-preserved in its default mode (warn)', { timeout: 240_000 }, () => {
  const scenario = scenarioFor('trust', []);
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'a new root is stored with a warning; an issuer-only rotation and other Secrets pass silently',
    scenario.check(async () => {
      const namespace = scenario.namespace('cp');
      const created = await scenario.kubectl.create([
        trustBundleSecret(namespace, ROOT_A, ISSUER_1),
        trustBundleConfigMap(namespace, ROOT_A),
      ]);
      assert.equal(created.code, 0, describeResult('kubectl create', created));

      const rotated = await replace(scenario, trustBundleSecret(namespace, ROOT_A, ISSUER_2));
      assert.equal(rotated.code, 0, describeResult('kubectl replace (issuer-only rotation)', rotated));
      assert.equal(rotated.stdout, 'secret/dapr-trust-bundle replaced\n');
      assert.equal(rotated.stderr, '');

      const regenerated = await replace(scenario, trustBundleSecret(namespace, ROOT_B, ISSUER_1));
      assert.equal(regenerated.code, 0, describeResult('kubectl replace (new root)', regenerated));
      assert.equal(regenerated.stdout, 'secret/dapr-trust-bundle replaced\n');
      assert.deepEqual(lines(regenerated.stderr), [warningLine(RULE, droppedRoot('Secret'))]);

      const configMap = await replace(scenario, trustBundleConfigMap(namespace, ROOT_B));
      assert.equal(configMap.code, 0, describeResult('kubectl replace (ConfigMap, new root)', configMap));
      assert.deepEqual(lines(configMap.stderr), [warningLine(RULE, droppedRoot('ConfigMap'))]);

      const other = { ...trustBundleSecret(namespace, ROOT_A, ISSUER_1), metadata: { name: 'other', namespace } };
      await scenario.kubectl.ok(['create', '-f', '-'], { input: toManifest(other) });
      const otherUpdate = await replace(scenario, { ...other, data: { 'ca.crt': base64(ROOT_B) } });
      assert.equal(otherUpdate.code, 0, describeResult('kubectl replace (another Secret)', otherUpdate));
      assert.equal(otherUpdate.stderr, '');

      const reviews = await scenario.guard.reviews({ namespace });
      const reviewed = reviews
        .filter((review) => /^core\/v1\/(?:Secret|ConfigMap)$/.test(review.kind))
        .map((review) => [review.kind, review.name, review.operation, review.decision, review.rules]);
      const [major = 0, minor = 0] = scenario.cluster.serverVersion.split('.').map(Number);
      const otherReviewed = major === 1 && minor < 28 ? [['core/v1/Secret', 'other', 'UPDATE', 'allowed', []]] : [];
      assert.deepEqual(reviewed, [
        ['core/v1/Secret', 'dapr-trust-bundle', 'UPDATE', 'allowed', []],
        ['core/v1/Secret', 'dapr-trust-bundle', 'UPDATE', 'allowed', [RULE]],
        ['core/v1/ConfigMap', 'dapr-trust-bundle', 'UPDATE', 'allowed', [RULE]],
        ...otherReviewed,
      ]);
      assertNoKeyMaterial(
        scenario,
        [rotated, regenerated, configMap].flatMap((result) => [result.stdout, result.stderr]),
      );
    }),
  );
});

describe('trust-bundle-preserved in enforce mode', { timeout: 240_000 }, () => {
  const scenario = scenarioFor('trust-enforce', ['--rule-mode', `${RULE}=enforce`]);
  before(() => scenario.start(), { timeout: SETUP_TIMEOUT_MS });
  after(() => scenario.stop(), { timeout: SETUP_TIMEOUT_MS });

  test(
    'a new root is refused and the stored bundle keeps the old one; an issuer-only rotation is stored',
    scenario.check(async () => {
      const namespace = scenario.namespace('cp');
      await scenario.kubectl.ok(['create', '-f', '-'], {
        input: toManifest(trustBundleSecret(namespace, ROOT_A, ISSUER_1)),
      });

      const regenerated = await replace(scenario, trustBundleSecret(namespace, ROOT_B, ISSUER_2));
      assert.equal(regenerated.code, 1, describeResult('kubectl replace (new root)', regenerated));
      assert.equal(regenerated.stdout, '');
      assert.deepEqual(lines(regenerated.stderr), [
        `Error from server (Forbidden): error when replacing "STDIN": admission webhook "${WEBHOOK.trustBundle}" denied the request: [${RULE}] ${droppedRoot('Secret')}`,
      ]);
      const stored = await scenario.kubectl.getJson<{ data: Record<string, string> }>([
        '-n',
        namespace,
        'get',
        'secret',
        'dapr-trust-bundle',
      ]);
      assert.equal(stored.data['ca.crt'], base64(ROOT_A));

      const rotated = await replace(scenario, trustBundleSecret(namespace, ROOT_A, ISSUER_2));
      assert.equal(rotated.code, 0, describeResult('kubectl replace (issuer-only rotation)', rotated));
      assert.equal(rotated.stderr, '');
      assertNoKeyMaterial(scenario, [regenerated.stdout, regenerated.stderr, rotated.stderr]);
    }),
  );
});
