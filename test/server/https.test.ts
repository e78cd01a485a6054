import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { generateCertificateAuthority, issueClientCertificate } from '../../src/tls/generate.ts';
import { fixtureText, jsonFixture } from '../support/fixtures.ts';
import { getHttp1, http2Session, postHttp1, postHttp2, startTestServer, type TestServer } from '../support/server.ts';
import { renewedLocalhostBundle, writeServingPair } from '../support/tls.ts';

const PAYMENTS = fixtureText('reviews/pod-create-payments.json');
const PAYMENTS_UID = jsonFixture<AdmissionReview>('reviews/pod-create-payments.json').request?.uid;

function scrape(port: number | undefined): Promise<{ status: number; body: string }> {
  return getPlain(port, '/metrics');
}

/** GET over plain HTTP on the metrics port. */
function getPlain(
  port: number | undefined,
  path: string,
): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    httpGet(`http://127.0.0.1:${port ?? 0}${path}`, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, contentType: String(response.headers['content-type']) }),
      );
    }).on('error', reject);
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
      assert.deepEqual(h2.response?.status, {
        metadata: {},
        status: 'Failure',
        code: 400,
        message: 'request body is not valid JSON',
      });
      const tooLarge = JSON.parse(
        (await postHttp2(session, '/validate', Buffer.alloc(7 * 1024 * 1024 + 10, ' '))).body,
      ) as AdmissionReview;
      assert.equal(tooLarge.response?.status?.code, 413);
    } finally {
      session.close();
    }
    const h1 = JSON.parse(
      (await postHttp1(server.baseUrl, '/mutate', server.ca, PAYMENTS, 'text/plain')).body,
    ) as AdmissionReview;
    assert.equal(h1.response?.uid, PAYMENTS_UID);
    assert.equal(h1.response?.status?.code, 400);
  });

  test('TLS 1.2 and 1.3 are accepted; TLS 1.1 is refused', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const negotiated = await new Promise<string | null>((resolve, reject) => {
        const socket = tlsConnect(
          { host: '127.0.0.1', port: server.server.port, ca: server.ca, minVersion: version, maxVersion: version },
          () => {
            resolve(socket.getProtocol());
            socket.end();
          },
        );
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
    assert.match(
      body,
      /dapr_guard_rule_mutations_total\{rule="sidecar-resources",mode="enforce",result="applied"\} \d+/,
    );
    assert.match(body, /dapr_guard_namespace_modes_synced 0/);
    assert.match(body, /process_resident_memory_bytes \d+/);
    assert.match(body, /dapr_guard_certificate_expiry_timestamp_seconds \d+/);
  });

  test('event-loop lag p99 since the previous scrape: a loop blocked for 200 ms shows', async () => {
    await scrape(server.server.metricsPort);
    // The scrape resets the sampler, and its first tick after a reset only starts a new interval: let it pass.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const blockedUntil = Date.now() + 200;
    while (Date.now() < blockedUntil); // the server runs in this process: this blocks its loop
    // The sampler records the late tick when its timer next fires; a scrape answered before that sees no sample.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { body } = await scrape(server.server.metricsPort);
    const lag = Number(/^dapr_guard_event_loop_lag_p99_seconds (\S+)$/m.exec(body)?.[1]);
    assert.ok(lag >= 0.1, `lag p99 ${lag} s`);
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
    const recorded = jsonFixture<{ request: { object: { spec: { metadata: { name: string; value: string }[] } } } }>(
      'reviews/component-create-redis-pubsub.json',
    );
    for (const item of recorded.request.object.spec.metadata) if (item.name === 'redisPassword') item.value = CANARY;
    const body = JSON.stringify(recorded);
    assert.ok(body.includes(CANARY));
    const responses = [
      await postHttp1(server.baseUrl, '/validate', server.ca, body),
      await postHttp1(server.baseUrl, '/mutate', server.ca, body),
      await postHttp1(
        server.baseUrl,
        '/validate',
        server.ca,
        body.replace('"kind":"AdmissionReview"', '"kind":"AdmissionReview",'),
      ),
      await postHttp1(server.baseUrl, '/validate', server.ca, body, 'text/plain'),
    ];
    for (const response of responses) assert.ok(!response.body.includes(CANARY), response.body);
    assert.ok(!server.rawLogs().includes(CANARY));
    assert.ok(!(await scrape(server.server.metricsPort)).body.includes(CANARY));
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
      const request = httpsRequest(
        `${server.baseUrl}/mutate`,
        {
          method: 'POST',
          ca: server.ca,
          agent: false,
          headers: { 'content-type': 'application/json' },
          ...credentials,
        },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve(JSON.parse(body) as AdmissionReview));
        },
      );
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
    const renewed = renewedLocalhostBundle();
    writeServingPair(server.config.tls, renewed.serving);
    assert.equal(await server.server.tls.checkNow(), true);
    server = { ...server, ca: Buffer.from(renewed.ca.certPem) };
    assert.equal((await review(apiServer)).response?.uid, PAYMENTS_UID);
    await assert.rejects(review(impostor), /unknown ca|ECONNRESET|socket hang up/);
    await assert.rejects(review(), /certificate required|ECONNRESET|socket hang up/);
  });

  test('/healthz on this port needs a client certificate too: kubelet probes cannot use it', async () => {
    await assert.rejects(
      getHttp1(server.baseUrl, '/healthz', server.ca),
      /certificate required|ECONNRESET|socket hang up/,
    );
  });

  test('/healthz and /readyz answer on the plain metrics port without a client certificate (the chart probes it)', async () => {
    const health = await getPlain(server.server.metricsPort, '/healthz');
    assert.deepEqual(
      [health.status, health.contentType, JSON.parse(health.body)],
      [200, 'application/json; charset=utf-8', { status: 'ok' }],
    );
    const ready = await getPlain(server.server.metricsPort, '/readyz');
    assert.deepEqual(
      [ready.status, ready.contentType, JSON.parse(ready.body)],
      [200, 'application/json; charset=utf-8', { status: 'ok' }],
    );
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
