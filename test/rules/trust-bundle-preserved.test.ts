import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/admission/wire.ts';
import { MAX_WARNING_LENGTH } from '../../src/admission/wire.ts';
import { formatMessage } from '../../src/policy/decide.ts';
import { evaluate } from '../../src/policy/evaluate.ts';
import { TRUST_BUNDLE_PRESERVED_RULE_ID, trustBundlePreservedRule } from '../../src/rules/trust-bundle-preserved.ts';
import { certificateIdentities } from '../../src/rules/support/certificates.ts';
import { fixtureText, yamlObjects } from '../support/fixtures.ts';
import { testPolicy } from '../support/policy.ts';
import { admissionRequest, type RequestOptions } from '../support/requests.ts';

const rule = trustBundlePreservedRule();

const pem = (name: string): string => fixtureText(`trust-bundle/${name}`);
const ROOT_A = pem('root-a.crt');
const ROOT_A_RENEWED = pem('root-a-renewed.crt');
const ROOT_B = pem('root-b.crt');
const ROOT_RSA = pem('root-rsa.crt');
const ISSUER_1 = { crt: pem('issuer-1.crt'), key: pem('issuer-1.key') };
const ISSUER_2 = { crt: pem('issuer-2.crt'), key: pem('issuer-2.key') };

/** The chart's Secret and ConfigMap as Dapr 1.18's chart renders them into dapr-system (empty, before Sentry fills them). */
function rendered(kind: 'Secret' | 'ConfigMap'): KubeObject {
  const found = yamlObjects('dapr-manifests/rendered/dapr-system.yaml').find(
    (object) => object.kind === kind && object.metadata?.name === 'dapr-trust-bundle',
  );
  assert.ok(found !== undefined, `the rendering has ${kind} dapr-trust-bundle`);
  return found;
}

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The Secret as Sentry or `helm --set-file` writes it: root, issuer certificate and issuer key, base64. */
function secret(root: string, issuer = ISSUER_1): KubeObject {
  return {
    ...rendered('Secret'),
    type: 'Opaque',
    data: { 'ca.crt': base64(root), 'issuer.crt': base64(issuer.crt), 'issuer.key': base64(issuer.key) },
  };
}

/** The ConfigMap every control-plane pod mounts: the root only, as text. */
function configMap(root: string): KubeObject {
  return { ...rendered('ConfigMap'), data: { 'ca.crt': root } };
}

interface Outcome {
  readonly message: string;
  readonly mode: string;
}

function outcomes(object: KubeObject, options: RequestOptions): Outcome[] {
  return evaluate(admissionRequest(object, options), testPolicy([rule]), 'validate').violations.map((violation) => ({
    message: formatMessage(violation),
    mode: violation.mode,
  }));
}

const update = (oldObject: KubeObject): RequestOptions => ({ operation: 'UPDATE', oldObject });

const CARRY_OVER =
  'carry it over: dapr mtls export; helm upgrade … --set-file dapr_sentry.tls.root.certPEM=ca.crt,dapr_sentry.tls.issuer.certPEM=issuer.crt,dapr_sentry.tls.issuer.keyPEM=issuer.key';

const message = (kind: string, problem: string): string =>
  `[trust-bundle-preserved] ${kind} dapr-trust-bundle ${problem} — ${CARRY_OVER}`;

describe(TRUST_BUNDLE_PRESERVED_RULE_ID, () => {
  it('is a validating rule that warns by default', () => {
    assert.equal(rule.type, 'validating');
    assert.equal(rule.defaultMode, 'warn');
  });

  describe('an UPDATE that drops the old root is a violation', () => {
    const cases: ReadonlyArray<{ name: string; before: KubeObject; after: KubeObject; expected: string }> = [
      {
        name: 'Secret: a new root (re-generated certificates)',
        before: secret(ROOT_A),
        after: secret(ROOT_B, ISSUER_2),
        expected: message('Secret', 'drops its root CA'),
      },
      {
        name: 'Secret: a new root under the same name (another key)',
        before: secret(ROOT_A),
        after: secret(ROOT_RSA),
        expected: message('Secret', 'drops its root CA'),
      },
      {
        name: 'ConfigMap: a new root',
        before: configMap(ROOT_A),
        after: configMap(ROOT_B),
        expected: message('ConfigMap', 'drops its root CA'),
      },
      {
        name: 'ConfigMap: one of two roots dropped',
        before: configMap(`${ROOT_A}${ROOT_B}`),
        after: configMap(ROOT_B),
        expected: message('ConfigMap', 'drops its root CA'),
      },
      {
        name: 'Secret: ca.crt removed (helm upgrade without the --set-file values)',
        before: secret(ROOT_A),
        after: { ...rendered('Secret'), data: { 'issuer.crt': base64(ISSUER_1.crt) } },
        expected: message('Secret', 'drops ca.crt'),
      },
      {
        name: 'Secret: all data removed',
        before: secret(ROOT_A),
        after: rendered('Secret'),
        expected: message('Secret', 'drops ca.crt'),
      },
      {
        name: 'ConfigMap: ca.crt emptied',
        before: configMap(ROOT_A),
        after: configMap('  \n'),
        expected: message('ConfigMap', 'drops ca.crt'),
      },
      {
        name: 'ConfigMap: ca.crt is not PEM',
        before: configMap(ROOT_A),
        after: configMap('root: see vault'),
        expected: message('ConfigMap', 'has a bad ca.crt'),
      },
      {
        name: 'ConfigMap: a certificate block cut short',
        before: configMap(ROOT_A),
        after: configMap(ROOT_A.slice(0, ROOT_A.indexOf('-----END'))),
        expected: message('ConfigMap', 'has a bad ca.crt'),
      },
      {
        name: 'ConfigMap: a certificate block with a broken body',
        before: configMap(ROOT_A),
        after: configMap(ROOT_A.replace(/\n[a-z0-9+/]{8}/i, '\n!!!!!!!!')),
        expected: message('ConfigMap', 'has a bad ca.crt'),
      },
      {
        name: 'Secret: the root kept, but more than 16 certificates (the cap)',
        before: secret(ROOT_A),
        after: secret(ROOT_A.repeat(17)),
        expected: message('Secret', 'has a bad ca.crt'),
      },
      {
        name: 'Secret: ca.crt of more than 64 KiB',
        before: secret(ROOT_A),
        after: secret(`${ROOT_A}${'#'.repeat(64 * 1024)}`),
        expected: message('Secret', 'has a bad ca.crt'),
      },
      {
        name: 'Secret: base64 of megabytes is not decoded',
        before: secret(ROOT_A),
        after: { ...secret(ROOT_A), data: { 'ca.crt': 'A'.repeat(4 * 1024 * 1024) } },
        expected: message('Secret', 'has a bad ca.crt'),
      },
      {
        name: 'Secret: DER that is not a certificate inside a CERTIFICATE block',
        before: secret(ROOT_A),
        after: secret(`-----BEGIN CERTIFICATE-----\n${base64('not a certificate')}\n-----END CERTIFICATE-----\n`),
        expected: message('Secret', 'has a bad ca.crt'),
      },
    ];
    assert.equal(cases.length, 14);
    for (const { name, before, after, expected } of cases) {
      it(name, () => {
        const found = outcomes(after, update(before));
        assert.deepEqual(found, [{ message: expected, mode: 'warn' }]);
        assert.ok(expected.length <= MAX_WARNING_LENGTH, `${expected.length} characters`);
      });
    }
  });

  describe('everything else passes', () => {
    const cases: ReadonlyArray<{ name: string; object: KubeObject; options: RequestOptions }> = [
      { name: 'Secret: issuer-only rotation', object: secret(ROOT_A, ISSUER_2), options: update(secret(ROOT_A)) },
      { name: 'Secret: unchanged', object: secret(ROOT_A), options: update(secret(ROOT_A)) },
      {
        name: 'Secret: a second root added next to the old one',
        object: secret(`${ROOT_B}\n${ROOT_A}`),
        options: update(secret(ROOT_A)),
      },
      {
        name: 'Secret: the PEM re-encoded (CRLF, other line breaks, text around the block)',
        object: secret(`subject=CN = cluster.local\r\n${ROOT_A.replace(/\n/g, '\r\n')}`),
        options: update(secret(ROOT_A)),
      },
      {
        name: 'Secret: the same root re-issued (same name and key, new validity)',
        object: secret(ROOT_A_RENEWED),
        options: update(secret(ROOT_A)),
      },
      {
        name: 'Secret: stringData (offline manifests) holding the old root',
        object: { ...rendered('Secret'), stringData: { 'ca.crt': ROOT_A } },
        options: update(secret(ROOT_A)),
      },
      {
        name: 'ConfigMap: issuer-only rotation leaves it as it is',
        object: configMap(ROOT_A),
        options: update(configMap(ROOT_A)),
      },
      {
        name: 'Secret: first fill by Sentry (the chart created it empty)',
        object: secret(ROOT_B),
        options: update(rendered('Secret')),
      },
      { name: 'ConfigMap: first fill by Sentry', object: configMap(ROOT_B), options: update(rendered('ConfigMap')) },
      {
        name: 'Secret: the old root could not be read, so there is nothing to compare',
        object: secret(ROOT_B),
        options: update(secret('garbage')),
      },
      { name: 'CREATE with any root', object: secret(ROOT_B), options: { operation: 'CREATE' } },
      {
        name: 'another Secret in the namespace',
        object: { ...secret(ROOT_B), metadata: { name: 'dapr-api-token', namespace: 'dapr-system' } },
        options: update({ ...secret(ROOT_A), metadata: { name: 'dapr-api-token', namespace: 'dapr-system' } }),
      },
      {
        name: 'another ConfigMap in the namespace',
        object: { ...configMap(ROOT_B), metadata: { name: 'kube-root-ca.crt', namespace: 'dapr-system' } },
        options: update({ ...configMap(ROOT_A), metadata: { name: 'kube-root-ca.crt', namespace: 'dapr-system' } }),
      },
      {
        name: 'a Pod named dapr-trust-bundle',
        object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'dapr-trust-bundle', namespace: 'dapr-system' } },
        options: update({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'dapr-trust-bundle', namespace: 'dapr-system' },
        }),
      },
    ];
    assert.equal(cases.length, 14);
    for (const { name, object, options } of cases) {
      it(name, () => assert.deepEqual(outcomes(object, options), []));
    }
  });

  it('no message contains key material or certificate text', () => {
    const found = outcomes(secret(ROOT_B, ISSUER_2), update(secret(ROOT_A)));
    assert.equal(found.length, 1);
    const keyBody = ISSUER_2.key.split('\n')[1] ?? '';
    assert.ok(keyBody.length > 20);
    for (const { message: text } of found) {
      assert.ok(!text.includes(keyBody) && !text.includes(base64(ISSUER_2.key).slice(0, 20)));
      assert.ok(!text.includes('BEGIN') && !text.includes(ROOT_B.split('\n')[1] ?? '-'));
    }
  });
});

describe('certificateIdentities', () => {
  it('reads Ed25519, RSA and re-issued roots: the identity is subject and key', () => {
    const read = (text: string): readonly string[] => {
      const result = certificateIdentities(text);
      assert.ok(result.ok, `parsed: ${JSON.stringify(result)}`);
      return result.identities;
    };
    const [a] = read(ROOT_A);
    assert.equal(read(ROOT_A).length, 1);
    assert.deepEqual(read(ROOT_A_RENEWED), [a]);
    assert.notDeepEqual(read(ROOT_B), [a]);
    assert.equal(read(`${ROOT_A}${ROOT_RSA}${ROOT_B}`).length, 3);
    assert.notEqual(read(ISSUER_1.crt)[0], read(ISSUER_2.crt)[0]);
  });

  it('refuses what is no certificate bundle, by kind of problem', () => {
    assert.deepEqual(certificateIdentities(''), { ok: false, problem: 'no-certificate' });
    assert.deepEqual(certificateIdentities(ISSUER_1.key), { ok: false, problem: 'no-certificate' });
    assert.deepEqual(certificateIdentities(ROOT_A.repeat(17)), { ok: false, problem: 'too-many' });
    assert.deepEqual(certificateIdentities('x'.repeat(64 * 1024 + 1)), { ok: false, problem: 'too-large' });
    assert.deepEqual(certificateIdentities(ROOT_A.replace('-----END CERTIFICATE-----', '')), {
      ok: false,
      problem: 'not-a-certificate',
    });
  });

  it('a DER length that points past the block is refused, not read', () => {
    const der = Buffer.from(ROOT_A.split('\n').slice(1, -2).join(''), 'base64');
    const lying = Buffer.from(der);
    lying[2] = 0xff;
    lying[3] = 0xff;
    const block = `-----BEGIN CERTIFICATE-----\n${lying.toString('base64')}\n-----END CERTIFICATE-----\n`;
    assert.deepEqual(certificateIdentities(block), { ok: false, problem: 'not-a-certificate' });
  });
});
