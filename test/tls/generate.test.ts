import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { writeServingBundle } from '../../src/tls/files.ts';
import { generateServingBundle, serviceDnsNames } from '../../src/tls/generate.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('certificate generation', () => {
  const issuedAt = new Date('2026-11-27T00:00:00Z');
  const bundle = generateServingBundle({
    commonName: 'dapr-guard.dapr-guard-system.svc',
    dnsNames: ['localhost', ...serviceDnsNames('dapr-guard', 'dapr-guard-system')],
    ipAddresses: ['127.0.0.1'],
    validityDays: 30,
    issuedAt,
  });
  const ca = new X509Certificate(bundle.ca.certPem);
  const serving = new X509Certificate(bundle.serving.certPem);

  test('the serving certificate is signed by the CA and covers every service name and 127.0.0.1', () => {
    assert.ok(serving.verify(ca.publicKey));
    assert.ok(serving.checkIssued(ca));
    assert.equal(
      serving.subjectAltName,
      'DNS:localhost, DNS:dapr-guard, DNS:dapr-guard.dapr-guard-system, DNS:dapr-guard.dapr-guard-system.svc, DNS:dapr-guard.dapr-guard-system.svc.cluster.local, IP Address:127.0.0.1',
    );
    assert.equal(serving.checkHost('dapr-guard.dapr-guard-system.svc'), 'dapr-guard.dapr-guard-system.svc');
    assert.equal(serving.checkIP('127.0.0.1'), '127.0.0.1');
  });

  test('subjects are set, the CA is a CA and the leaf is not', () => {
    assert.equal(ca.subject, 'CN=dapr-guard-ca\nO=dapr-guard');
    assert.equal(serving.subject, 'CN=dapr-guard.dapr-guard-system.svc\nO=dapr-guard');
    assert.equal(serving.issuer, ca.subject);
    assert.equal(ca.ca, true);
    assert.equal(serving.ca, false);
    assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  test('validity is the requested number of days, back-dated a few minutes for clock skew', () => {
    const from = new Date(serving.validFrom).getTime();
    const to = new Date(serving.validTo).getTime();
    assert.ok(from < issuedAt.getTime() && issuedAt.getTime() - from <= 10 * 60 * 1000);
    assert.equal(Math.round((to - from) / DAY_MS), 30);
  });

  test('serial numbers are random and positive', () => {
    const other = generateServingBundle({ commonName: 'x', dnsNames: ['x'], ipAddresses: [], validityDays: 1 });
    const serials = [ca.serialNumber, serving.serialNumber, new X509Certificate(other.serving.certPem).serialNumber];
    assert.equal(new Set(serials).size, 3);
    for (const serial of serials) {
      assert.ok(serial.length >= 30, serial);
      assert.ok(Number.parseInt(serial.slice(0, 1), 16) < 8, `serial ${serial} must be positive`);
    }
  });

  test('the private key matches the certificate', () => {
    assert.ok(serving.checkPrivateKey(createPrivateKey(bundle.serving.keyPem)));
  });
});

describe('certificate files', () => {
  test('writeServingBundle writes ca.crt, tls.crt and tls.key (owner-only)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-certs-'));
    writeServingBundle({
      caFile: join(dir, 'ca.crt'),
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      dnsNames: [],
      serviceName: '',
      serviceNamespace: '',
      validityDays: 1,
    });
    const serving = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
    assert.equal(serving.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(serving.verify(new X509Certificate(readFileSync(join(dir, 'ca.crt'))).publicKey));
    assert.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600);
  });

  test('npm run certs -- --service --namespace --out writes a bundle for the service', () => {
    const out = mkdtempSync(join(tmpdir(), 'dapr-guard-certs-cli-'));
    const result = spawnSync(
      process.execPath,
      ['src/tls/cli.ts', '--service', 'dapr-guard', '--namespace', 'guard', '--out', out, '--validity-days', '10'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.ok(['ca.crt', 'tls.crt', 'tls.key'].every((name) => existsSync(join(out, name))));
    const serving = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    assert.match(serving.subjectAltName ?? '', /DNS:dapr-guard\.guard\.svc\.cluster\.local/);
    assert.equal(
      Math.round((new Date(serving.validTo).getTime() - new Date(serving.validFrom).getTime()) / DAY_MS),
      10,
    );
  });

  test('the certs command refuses missing arguments with usage', () => {
    const result = spawnSync(process.execPath, ['src/tls/cli.ts', '--service', 'x'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^--namespace is required\n\n/);
    assert.match(result.stderr, /Usage: npm run certs/);
  });
});
