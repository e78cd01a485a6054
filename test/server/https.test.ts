import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { generateServingBundle } from '../../src/certificates/generate.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { getHttp1, http2Session, postHttp1, postHttp2, startTestServer, type TestServer } from '../support/server.ts';

const PAYMENTS = fixtureText('reviews/pod-create-payments.json');
const PAYMENTS_UID = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid;

function scrape(port: number | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(`http://127.0.0.1:${port ?? 0}/metrics`, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
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
