import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { generateCertificateAuthority, generateServingBundle, issueClientCertificate } from '../../src/tls/generate.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { getHttp1, http2Session, postHttp1, postHttp2, startTestServer, type TestServer } from '../support/server.ts';

const PAYMENTS = fixtureText('reviews/pod-create-payments.json');
const PAYMENTS_UID = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid;

function scrape(port: number | undefined): Promise<{ status: number; body: string }> {
  return getPlain(port, '/metrics');
}

/** GET over plain HTTP on the metrics port. */
function getPlain(port: number | undefined, path: string): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    httpGet(`http://127.0.0.1:${port ?? 0}${path}`, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, contentType: String(response.headers['content-type']) }));
    }).on('error', reject);
  });
}

function peerCertificateSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('HTTPS transport', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('HTTP/1.1 over TLS: a recorded review is answered with the patch and the uid', async () => {
    const result = await postHttp1(server.baseUrl, '/mutate', server.ca, PAYMENTS);
    assert.equal(result.httpVersion, '1.1');
    assert.equal(result.status, 200);
    assert.match(String(result.headers['content-type']), /^application\/json/);
    const review = JSON.parse(result.body) as AdmissionReview;
    assert.equal(review.response?.uid, PAYMENTS_UID);
    assert.equal(review.response?.patchType, 'JSONPatch');
  });

  test('HTTP/2 (ALPN h2): many reviews on one session, as the API server sends them', async () => {
    const session = http2Session(server.baseUrl, server.ca);
    try {
      const results = await Promise.all([1, 2, 3, 4].map(() => postHttp2(session, '/mutate', PAYMENTS)));
      assert.equal(session.alpnProtocol, 'h2');
      for (const result of results) {
        assert.equal(result.status, 200);
        assert.equal((JSON.parse(result.body) as AdmissionReview).response?.uid, PAYMENTS_UID);
      }
    } finally {
      session.close();
    }
  });

  test('bad input over h2 and h1 is still a review with a 400-class code', async () => {
    const session = http2Session(server.baseUrl, server.ca);
    try {
      const h2 = JSON.parse((await postHttp2(session, '/validate', 'not json')).body) as AdmissionReview;
      assert.deepEqual(h2.response?.status, { metadata: {}, status: 'Failure', code: 400, message: 'request body is not valid JSON' });
      const tooLarge = JSON.parse((await postHttp2(session, '/validate', Buffer.alloc(7 * 1024 * 1024 + 10, ' '))).body) as AdmissionReview;
      assert.equal(tooLarge.response?.status?.code, 413);
    } finally {
      session.close();
    }
    const h1 = JSON.parse((await postHttp1(server.baseUrl, '/mutate', server.ca, PAYMENTS, 'text/plain')).body) as AdmissionReview;
    assert.equal(h1.response?.uid, PAYMENTS_UID);
    assert.equal(h1.response?.status?.code, 400);
  });

  test('TLS 1.2 and 1.3 are accepted; TLS 1.1 is refused', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const negotiated = await new Promise<string | null>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: server.server.port, ca: server.ca, minVersion: version, maxVersion: version }, () => {
          resolve(socket.getProtocol());
          socket.end();
        });
        socket.on('error', reject);
      });
      assert.equal(negotiated, version);
    }
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: server.server.port,
          ca: server.ca,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        });
        socket.on('secureConnect', () => resolve(socket.getProtocol()));
        socket.on('error', reject);
      }),
    );
  });

  test('/healthz and /readyz over h2', async () => {
    const health = await getHttp1(server.baseUrl, '/healthz', server.ca);
    assert.deepEqual([health.status, JSON.parse(health.body)], [200, { status: 'ok' }]);
    const ready = await getHttp1(server.baseUrl, '/readyz', server.ca);
    assert.deepEqual([ready.status, JSON.parse(ready.body)], [200, { status: 'ok' }]);
  });

  test('Prometheus metrics on the plain-HTTP metrics port', async () => {
    await postHttp1(server.baseUrl, '/mutate', server.ca, PAYMENTS);
    const { status, body } = await scrape(server.server.metricsPort);
    assert.equal(status, 200);
    assert.match(body, /dapr_guard_admission_reviews_total\{endpoint="mutate",decision="patched",mode="enforce"\} \d+/);
    assert.match(body, /dapr_guard_admission_review_duration_seconds_bucket\{le="0\.005",endpoint="mutate"\} \d+/);
    assert.match(body, /dapr_guard_rule_mutations_total\{rule="sidecar-resources",mode="enforce"\} \d+/);
    assert.match(body, /dapr_guard_namespace_modes_synced 0/);
    assert.match(body, /process_resident_memory_bytes \d+/);
    assert.match(body, /dapr_guard_certificate_expiry_timestamp_seconds \d+/);
  });
});

describe('secret values never leave the process', () => {
  const CANARY = 'canary-7f3a9c2e-do-not-log';
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a Component with a planted plaintext password: not in the response, the logs or the metrics', async () => {
    const recorded = jsonFixture<{ request: { object: { spec: { metadata: { name: string; value: string }[] } } } }>('reviews/component-create-redis-pubsub.json');
    for (const item of recorded.request.object.spec.metadata) if (item.name === 'redisPassword') item.value = CANARY;
    const body = JSON.stringify(recorded);
    assert.ok(body.includes(CANARY));
    const responses = [
      await postHttp1(server.baseUrl, '/validate', server.ca, body),
      await postHttp1(server.baseUrl, '/mutate', server.ca, body),
      await postHttp1(server.baseUrl, '/validate', server.ca, body.replace('"kind":"AdmissionReview"', '"kind":"AdmissionReview",')),
      await postHttp1(server.baseUrl, '/validate', server.ca, body, 'text/plain'),
    ];
    for (const response of responses) assert.ok(!response.body.includes(CANARY), response.body);
    assert.ok(!server.rawLogs().includes(CANARY));
    assert.ok(!(await scrape(server.server.metricsPort)).body.includes(CANARY));
  });
});

describe('certificate hot reload', () => {
  test('a renewed pair on disk is served to new connections without a restart; open sessions keep working', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 3600 } });
    try {
      const before = await peerCertificateSerial(server.server.port, server.ca);
      const session = http2Session(server.baseUrl, server.ca);
      await postHttp2(session, '/mutate', PAYMENTS);

      const renewed = generateServingBundle({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 });
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
      assert.deepEqual(metrics.values.map((value) => [value.labels['result'], value.value]).sort(), [['rejected', 1], ['success', 1]]);
      assert.ok(server.logs().some((line) => line['msg'] === 'serving certificate reloaded'));
    } finally {
      await server.close();
    }
  });

  test('the reloader picks up a change on its own interval', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 1 } });
    try {
      const renewed = generateServingBundle({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 });
      writeFileSync(server.config.tls.keyFile, renewed.serving.keyPem);
      writeFileSync(server.config.tls.certFile, renewed.serving.certPem);
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

function handshake(port: number, ca: Buffer, options: { readonly ciphers?: string; readonly version: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: options.version, maxVersion: options.version, ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }) }, () => {
      resolve(socket.getCipher().standardName);
      socket.end();
    });
    socket.on('error', reject);
  });
}

const REFUSED_TLS12_SUITES = ['AES128-SHA', 'AES256-SHA256', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384'];

async function assertOnlyForwardSecretAead(port: number, ca: Buffer): Promise<void> {
  assert.equal(REFUSED_TLS12_SUITES.length, 6);
  for (const ciphers of REFUSED_TLS12_SUITES) {
    await assert.rejects(handshake(port, ca, { ciphers, version: 'TLSv1.2' }), /handshake failure|alert/, ciphers);
  }
  assert.equal(await handshake(port, ca, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', version: 'TLSv1.2' }), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  assert.equal(await handshake(port, ca, { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', version: 'TLSv1.2' }), 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256');
  assert.equal(await handshake(port, ca, { version: 'TLSv1.3' }), 'TLS_AES_128_GCM_SHA256');
}

describe('TLS cipher suites', () => {
  test('TLS 1.2 offers only ECDHE with AEAD, before and after a certificate reload; TLS 1.3 works', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 3600 } });
    try {
      await assertOnlyForwardSecretAead(server.server.port, server.ca);
      const renewed = generateServingBundle({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 });
      writeFileSync(server.config.tls.keyFile, renewed.serving.keyPem);
      writeFileSync(server.config.tls.certFile, renewed.serving.certPem);
      assert.equal(await server.server.tls.checkNow(), true);
      await assertOnlyForwardSecretAead(server.server.port, Buffer.from(renewed.ca.certPem));
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
    (await server.server.metrics.certificateReloads.get()).values.find((value) => value.labels['result'] === 'rejected')?.value ?? 0;

  /** Writes the pair, checks twice, and returns the reasons logged for it. */
  async function offer(pair: { readonly certPem: string; readonly keyPem: string }): Promise<string[]> {
    const logged = server.logs().length;
    const servedBefore = await peerCertificateSerial(server.server.port, server.ca);
    writeFileSync(server.config.tls.keyFile, pair.keyPem);
    writeFileSync(server.config.tls.certFile, pair.certPem);
    assert.equal(await server.server.tls.checkNow(), false);
    assert.equal(await server.server.tls.checkNow(), false);
    assert.equal(await peerCertificateSerial(server.server.port, server.ca), servedBefore);
    return server.logs().slice(logged).filter((line) => line['msg'] === REFUSED).map((line) => String(line['reason']));
  }

  test('an expired pair: logged once, counted once', async () => {
    const expired = generateServingBundle({ commonName: 'dg.ns.svc', dnsNames: ['dg.ns.svc'], ipAddresses: [], validityDays: 1, issuedAt: new Date(Date.now() - 3 * DAY_MS) });
    const rejectedBefore = await rejectedReloads();
    const notAfter = new Date(new X509Certificate(expired.serving.certPem).validTo).toISOString();
    assert.deepEqual(await offer(expired.serving), [`the certificate expired on ${notAfter}`]);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a pair not valid yet: logged once, counted once', async () => {
    const future = generateServingBundle({ commonName: 'dg.ns.svc', dnsNames: ['dg.ns.svc'], ipAddresses: [], validityDays: 30, issuedAt: new Date(Date.now() + 2 * DAY_MS) });
    const rejectedBefore = await rejectedReloads();
    const notBefore = new Date(new X509Certificate(future.serving.certPem).validFrom).toISOString();
    assert.deepEqual(await offer(future.serving), [`the certificate is not valid before ${notBefore}`]);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a pair for another Service: logged once, counted once', async () => {
    const other = generateServingBundle({ commonName: 'other.ns.svc', dnsNames: ['localhost', 'other.ns.svc'], ipAddresses: ['127.0.0.1'], validityDays: 30 });
    const rejectedBefore = await rejectedReloads();
    assert.deepEqual(await offer(other.serving), ['the certificate does not cover dg.ns.svc (it has DNS:localhost, DNS:other.ns.svc, IP Address:127.0.0.1)']);
    assert.equal(await rejectedReloads(), rejectedBefore + 1);
  });

  test('a good pair for the Service after the refused ones is installed', async () => {
    const good = generateServingBundle({ commonName: 'dg.ns.svc', dnsNames: ['localhost', 'dg.ns.svc'], ipAddresses: ['127.0.0.1'], validityDays: 30 });
    writeFileSync(server.config.tls.keyFile, good.serving.keyPem);
    writeFileSync(server.config.tls.certFile, good.serving.certPem);
    assert.equal(await server.server.tls.checkNow(), true);
    assert.equal(await peerCertificateSerial(server.server.port, Buffer.from(good.ca.certPem)), new X509Certificate(good.serving.certPem).serialNumber);
  });
});

describe('client-certificate authentication of the API server (tls.clientCAFile)', () => {
  const clientCa = generateCertificateAuthority(new Date(Date.now() - 60_000), 30);
  const apiServer = issueClientCertificate(clientCa, { commonName: 'kube-apiserver', validityDays: 30 });
  const otherCa = generateCertificateAuthority(new Date(Date.now() - 60_000), 30);
  const impostor = issueClientCertificate(otherCa, { commonName: 'kube-apiserver', validityDays: 30 });
  let server: TestServer;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-client-ca-'));
    writeFileSync(join(dir, 'client-ca.crt'), clientCa.certPem);
    server = await startTestServer({ tls: { clientCAFile: join(dir, 'client-ca.crt'), reloadIntervalSeconds: 3600 } });
  });
  after(() => server.close());

  const review = (client?: { readonly certPem: string; readonly keyPem: string }): Promise<AdmissionReview> =>
    new Promise((resolve, reject) => {
      const credentials = client === undefined ? {} : { cert: client.certPem, key: client.keyPem };
      const request = httpsRequest(`${server.baseUrl}/mutate`, { method: 'POST', ca: server.ca, agent: false, headers: { 'content-type': 'application/json' }, ...credentials }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(JSON.parse(body) as AdmissionReview));
      });
      request.on('error', reject);
      request.end(PAYMENTS);
    });

  test('no client certificate: refused in the handshake', async () => {
    await assert.rejects(review(), /certificate required|ECONNRESET|socket hang up/);
  });

  test('a certificate from another CA: refused in the handshake', async () => {
    await assert.rejects(review(impostor), /unknown ca|ECONNRESET|socket hang up/);
  });

  test('the API server certificate: the review is answered, also after a certificate reload', async () => {
    assert.equal((await review(apiServer)).response?.uid, PAYMENTS_UID);
    const renewed = generateServingBundle({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validityDays: 2 });
    writeFileSync(server.config.tls.keyFile, renewed.serving.keyPem);
    writeFileSync(server.config.tls.certFile, renewed.serving.certPem);
    assert.equal(await server.server.tls.checkNow(), true);
    server = { ...server, ca: Buffer.from(renewed.ca.certPem) };
    assert.equal((await review(apiServer)).response?.uid, PAYMENTS_UID);
    await assert.rejects(review(impostor), /unknown ca|ECONNRESET|socket hang up/);
    await assert.rejects(review(), /certificate required|ECONNRESET|socket hang up/);
  });

  test('/healthz on this port needs a client certificate too: kubelet probes cannot use it', async () => {
    await assert.rejects(getHttp1(server.baseUrl, '/healthz', server.ca), /certificate required|ECONNRESET|socket hang up/);
  });

  test('/healthz and /readyz answer on the plain metrics port without a client certificate (the chart probes it)', async () => {
    const health = await getPlain(server.server.metricsPort, '/healthz');
    assert.deepEqual([health.status, health.contentType, JSON.parse(health.body)], [200, 'application/json; charset=utf-8', { status: 'ok' }]);
    const ready = await getPlain(server.server.metricsPort, '/readyz');
    assert.deepEqual([ready.status, ready.contentType, JSON.parse(ready.body)], [200, 'application/json; charset=utf-8', { status: 'ok' }]);
    assert.equal((await getPlain(server.server.metricsPort, '/livez')).status, 404);
  });
});

describe('probes on the metrics port', () => {
  test('the same JSON as on the HTTPS port, also while not ready (shutting down: 503 with the reason)', async () => {
    const server = await startTestServer({ server: { shutdownDelaySeconds: 2 } });
    const stopped = server.close();
    try {
      const expected = [503, { status: 'not ready', reason: 'shutting down' }];
      const https = await getHttp1(server.baseUrl, '/readyz', server.ca);
      assert.deepEqual([https.status, JSON.parse(https.body)], expected);
      const plain = await getPlain(server.server.metricsPort, '/readyz');
      assert.deepEqual([plain.status, JSON.parse(plain.body)], expected);
      const httpsHealth = await getHttp1(server.baseUrl, '/healthz', server.ca);
      const plainHealth = await getPlain(server.server.metricsPort, '/healthz');
      assert.deepEqual([plainHealth.status, plainHealth.body], [httpsHealth.status, httpsHealth.body]);
      assert.equal(plain.contentType, https.headers['content-type']);
    } finally {
      await stopped;
    }
  });
});
