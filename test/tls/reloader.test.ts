/** The certificate reloader (src/tls/reloader.ts), through a real HTTPS server. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { generateServingBundle } from '../../src/tls/generate.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { http2Session, postHttp2, startTestServer, type TestServer } from '../support/server.ts';
import { peerCertificateSerial, renewedLocalhostBundle, writeServingPair } from '../support/tls.ts';

const PAYMENTS = fixtureText('reviews/pod-create-payments.json');
const PAYMENTS_UID = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid;

describe('certificate hot reload', () => {
  test('a renewed pair on disk is served to new connections without a restart; open sessions keep working', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 3600 } });
    try {
      const before = await peerCertificateSerial(server.server.port, server.ca);
      const session = http2Session(server.baseUrl, server.ca);
      await postHttp2(session, '/mutate', PAYMENTS);

      const renewed = renewedLocalhostBundle();
      // A half-written update (new certificate, old key) is refused and the old pair stays.
      writeFileSync(server.config.tls.certFile, renewed.serving.certPem);
      assert.equal(await server.server.tls.checkNow(), false);
      assert.equal(await peerCertificateSerial(server.server.port, server.ca), before);

      writeFileSync(server.config.tls.keyFile, renewed.serving.keyPem);
      assert.equal(await server.server.tls.checkNow(), true);
      const after = await peerCertificateSerial(server.server.port, Buffer.from(renewed.ca.certPem));
      assert.equal(after, new X509Certificate(renewed.serving.certPem).serialNumber);
      assert.notEqual(after, before);

      const onOldSession = await postHttp2(session, '/mutate', PAYMENTS);
      assert.equal((JSON.parse(onOldSession.body) as AdmissionReview).response?.uid, PAYMENTS_UID);
      session.close();

      const metrics = await server.server.metrics.certificateReloads.get();
      assert.deepEqual(metrics.values.map((value) => [value.labels['result'], value.value]).sort(), [
        ['rejected', 1],
        ['success', 1],
      ]);
      assert.ok(server.logs().some((line) => line['msg'] === 'serving certificate reloaded'));
    } finally {
      await server.close();
    }
  });

  test('the reloader picks up a change on its own interval', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 1 } });
    try {
      const renewed = renewedLocalhostBundle();
      writeServingPair(server.config.tls, renewed.serving);
      const expected = new X509Certificate(renewed.serving.certPem).serialNumber;
      const deadline = Date.now() + 5000;
      let serial = '';
      while (Date.now() < deadline && serial !== expected) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        serial = await peerCertificateSerial(server.server.port, Buffer.from(renewed.ca.certPem)).catch(() => '');
      }
      assert.equal(serial, expected);
    } finally {
      await server.close();
    }
  });
});

describe('the reloader refuses a pair it must not serve', () => {
  const DAY_MS = 24 * 60 * 60 * 1000;
  const REFUSED = 'refused the new certificate files; still serving the previous certificate';
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ tls: { reloadIntervalSeconds: 3600, serviceName: 'dg', serviceNamespace: 'ns' } });
  });
  after(() => server.close());

  const rejectedReloads = async (): Promise<number> =>
    (await server.server.metrics.certificateReloads.get()).values.find((value) => value.labels['result'] === 'rejected')
      ?.value ?? 0;

  /** Writes the pair, checks twice, and returns the reasons logged for it. */
  async function offer(pair: { readonly certPem: string; readonly keyPem: string }): Promise<string[]> {
    const logged = server.logs().length;
    const servedBefore = await peerCertificateSerial(server.server.port, server.ca);
    writeFileSync(server.config.tls.keyFile, pair.keyPem);
    writeFileSync(server.config.tls.certFile, pair.certPem);
    assert.equal(await server.server.tls.checkNow(), false);
    assert.equal(await server.server.tls.checkNow(), false);
    assert.equal(await peerCertificateSerial(server.server.port, server.ca), servedBefore);
    return server
      .logs()
      .slice(logged)
      .filter((line) => line['msg'] === REFUSED)
      .map((line) => String(line['reason']));
  }

  test('an expired pair: logged once, counted once', async () => {
    const expired = generateServingBundle({
      commonName: 'dg.ns.svc',
      dnsNames: ['dg.ns.svc'],
      ipAddresses: [],
      validityDays: 1,
      issuedAt: new Date(Date.now() - 3 * DAY_MS),
    });
    const rejectedBefore = await rejectedReloads();
    const notAfter = new Date(new X509Certificate(expired.serving.certPem).validTo).toISOString();
    assert.deepEqual(await offer(expired.serving), [`the certificate expired on ${notAfter}`]);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a pair not valid yet: logged once, counted once', async () => {
    const future = generateServingBundle({
      commonName: 'dg.ns.svc',
      dnsNames: ['dg.ns.svc'],
      ipAddresses: [],
      validityDays: 30,
      issuedAt: new Date(Date.now() + 2 * DAY_MS),
    });
    const rejectedBefore = await rejectedReloads();
    const notBefore = new Date(new X509Certificate(future.serving.certPem).validFrom).toISOString();
    assert.deepEqual(await offer(future.serving), [`the certificate is not valid before ${notBefore}`]);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a pair for another Service: logged once, counted once', async () => {
    const other = generateServingBundle({
      commonName: 'other.ns.svc',
      dnsNames: ['localhost', 'other.ns.svc'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 30,
    });
    const rejectedBefore = await rejectedReloads();
    assert.deepEqual(await offer(other.serving), [
      'the certificate does not cover dg.ns.svc (it has DNS:localhost, DNS:other.ns.svc, IP Address:127.0.0.1)',
    ]);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a good pair for the Service after the refused ones is installed', async () => {
    const good = generateServingBundle({
      commonName: 'dg.ns.svc',
      dnsNames: ['localhost', 'dg.ns.svc'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 30,
    });
    writeFileSync(server.config.tls.keyFile, good.serving.keyPem);
    writeFileSync(server.config.tls.certFile, good.serving.certPem);
    assert.equal(await server.server.tls.checkNow(), true);
    assert.equal(
      await peerCertificateSerial(server.server.port, Buffer.from(good.ca.certPem)),
      new X509Certificate(good.serving.certPem).serialNumber,
    );
  });
});
