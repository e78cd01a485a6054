import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  generateCertificateAuthority,
  generateServingBundle,
  issueServingCertificate,
} from '../../src/tls/generate.ts';
import {
  applyRotation,
  caBundleOf,
  CA_VALIDITY_DAYS,
  planRotation,
  type RotationPolicy,
} from '../../src/tls/rotation.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-11-27T00:00:00Z');
const policy: RotationPolicy = {
  commonName: 'dapr-guard.guard.svc',
  dnsNames: ['dapr-guard.guard.svc', 'dapr-guard.guard.svc.cluster.local'],
  ipAddresses: [],
  servingValidityDays: 90,
  renewBeforeDays: 30,
};
const fresh = applyRotation(undefined, { action: 'new-ca', reason: 'test' }, policy, NOW);

describe('planRotation', () => {
  test('nothing stored: a new CA', () => {
    assert.equal(planRotation(undefined, policy, NOW).action, 'new-ca');
  });

  test('fresh certificates are kept', () => {
    assert.deepEqual(planRotation(fresh, policy, new Date(NOW.getTime() + 10 * DAY)).action, 'keep');
  });

  test('a serving certificate inside the renewal window is reissued from the same CA', () => {
    const later = new Date(NOW.getTime() + 61 * DAY);
    const plan = planRotation(fresh, policy, later);
    assert.equal(plan.action, 'issue-serving');
    assert.match(plan.reason, /^the serving certificate expires on /);
    const renewed = applyRotation(fresh, plan, policy, later);
    assert.equal(renewed.ca.certPem, fresh.ca.certPem);
    assert.notEqual(renewed.serving.certPem, fresh.serving.certPem);
    assert.ok(new X509Certificate(renewed.serving.certPem).verify(new X509Certificate(fresh.ca.certPem).publicKey));
    assert.equal(caBundleOf(renewed), caBundleOf(fresh), 'a serving renewal leaves the caBundle as it is');
  });

  test('a certificate that does not cover the service names is reissued', () => {
    const plan = planRotation(fresh, { ...policy, dnsNames: [...policy.dnsNames, 'dapr-guard.other.svc'] }, NOW);
    assert.deepEqual(plan, {
      action: 'issue-serving',
      reason: 'the serving certificate does not cover dapr-guard.other.svc',
    });
  });

  test('a CA close to its end is replaced, and the old one stays trusted in the bundle', () => {
    const nearEnd = new Date(NOW.getTime() + (CA_VALIDITY_DAYS - 100) * DAY);
    const plan = planRotation(fresh, policy, nearEnd);
    assert.equal(plan.action, 'new-ca');
    const rotated = applyRotation(fresh, plan, policy, nearEnd);
    assert.notEqual(rotated.ca.certPem, fresh.ca.certPem);
    assert.equal(rotated.previousCaCertPem, fresh.ca.certPem);
    assert.equal(caBundleOf(rotated), `${rotated.ca.certPem.trimEnd()}\n${fresh.ca.certPem}`);
  });

  test('unusable stored material (wrong key, garbage) is replaced with a new CA', () => {
    const other = generateServingBundle({ commonName: 'x', dnsNames: ['x'], ipAddresses: [], validityDays: 1 });
    assert.deepEqual(
      planRotation({ ...fresh, serving: { ...fresh.serving, keyPem: other.serving.keyPem } }, policy, NOW),
      {
        action: 'new-ca',
        reason: 'the stored serving key does not match its certificate',
      },
    );
    assert.deepEqual(planRotation({ ...fresh, ca: { ...fresh.ca, certPem: 'garbage' } }, policy, NOW), {
      action: 'new-ca',
      reason: 'the stored certificates cannot be parsed',
    });
  });

  test('a serving certificate from another CA is reissued', () => {
    const otherCa = generateCertificateAuthority(NOW, 30);
    const foreign = {
      ...fresh,
      serving: issueServingCertificate(otherCa, { ...policy, validityDays: 90, notBefore: NOW }),
    };
    assert.equal(planRotation(foreign, policy, NOW).action, 'issue-serving');
  });
});
