import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trustBundleFindings } from '../../src/audit/trust-bundle.ts';
import { generateCertificateAuthority } from '../../src/tls/generate.ts';

const NOW = new Date('2026-12-02T06:00:00Z');
const DAY = 86_400_000;
const REMEDY = 'dapr mtls renew-certificate -k --valid-until 365 --restart';
const REF = { apiVersion: 'v1', kind: 'Secret', namespace: 'dapr-system', name: 'dapr-trust-bundle' };

/** A CA certificate (base64 PEM, as in the Secret's data) valid from `startDaysAgo` for `validDays`. */
function certificate(startDaysAgo: number, validDays: number): string {
  const pair = generateCertificateAuthority(new Date(NOW.getTime() - startDaysAgo * DAY), validDays);
  return Buffer.from(pair.certPem).toString('base64');
}

describe('trustBundleFindings', () => {
  test('a root expiring in 29 days is a warning, an expired issuer an error, both with the renew command', () => {
    const findings = trustBundleFindings(
      { namespace: 'dapr-system', caCrt: certificate(1, 30), issuerCrt: certificate(10, 5) },
      NOW,
    );
    assert.equal(findings.length, 2);
    const [root, issuer] = findings;
    assert.deepEqual(
      { ...root, message: undefined },
      {
        ruleId: 'trust-bundle-expiry',
        kind: 'violation',
        mode: 'warn',
        severity: 'warning',
        object: REF,
        message: undefined,
        remedy: REMEDY,
      },
    );
    assert.match(
      root?.message ?? '',
      /^the root certificate \(ca\.crt of Secret dapr-system\/dapr-trust-bundle, "CN=dapr-guard-ca, O=dapr-guard"\) expires in 29 days, on 2026-12-31T06:00:00\.000Z — run dapr mtls renew-certificate -k --valid-until 365 --restart$/,
    );
    assert.equal(issuer?.severity, 'error');
    assert.match(
      issuer?.message ?? '',
      /^the issuer certificate \(issuer\.crt of .+\) expired on 2026-11-27T06:00:00\.000Z: mTLS between sidecars fails — run /,
    );
  });

  test('30 days or more: nothing', () => {
    assert.deepEqual(
      trustBundleFindings({ namespace: 'dapr-system', caCrt: certificate(0, 31), issuerCrt: certificate(0, 365) }, NOW),
      [],
    );
  });

  test('a bundle of several roots: the earliest expiry counts', () => {
    const bundle = Buffer.concat([
      Buffer.from(certificate(0, 365), 'base64'),
      Buffer.from(certificate(0, 3), 'base64'),
    ]);
    const findings = trustBundleFindings(
      { namespace: 'dapr-system', caCrt: bundle.toString('base64'), issuerCrt: undefined },
      NOW,
    );
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', / expires in 3 days, /);
  });

  test('not a certificate: a warning that says so, without the content', () => {
    const findings = trustBundleFindings(
      { namespace: 'dapr-system', caCrt: Buffer.from('hunter2-not-a-pem').toString('base64'), issuerCrt: undefined },
      NOW,
    );
    assert.deepEqual(
      findings.map((finding) => finding.message),
      [`ca.crt of Secret dapr-system/dapr-trust-bundle holds no PEM certificate — check the trust bundle (${REMEDY})`],
    );
  });
});
