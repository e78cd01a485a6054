import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import { jsonFixture } from '../support/fixtures.ts';
import { http2Session, postHttp1, postHttp2, startTestServer, type TestServer } from '../support/server.ts';

const BODY_LIMIT = 64 * 1024;
const NODEAPP = jsonFixture<{ request: Record<string, unknown> }>('reviews/pod-create-nodeapp.json');
const UID = String(NODEAPP.request['uid']);

function reviewBody(changes: Record<string, unknown> = {}, padToBytes = 0): Buffer {
  const text = JSON.stringify({ ...NODEAPP, request: { ...NODEAPP.request, ...changes } });
  // Trailing whitespace keeps it valid JSON of exactly the size a test needs.
  return Buffer.from(text.padEnd(padToBytes, ' '));
}

interface Exchange {
  readonly review: AdmissionReview | undefined;
  readonly status: number;
  readonly ms: number;
  /** HTTP/2: the stream's RST_STREAM code (0 = NO_ERROR); HTTP/1.1: whether the server closed the connection. */
  readonly rstCode?: number;
  readonly closed?: boolean;
}

/** One HTTP/2 request whose body is sent only up to `sendBytes` when given (the rest never comes). */
function h2Exchange(session: ClientHttp2Session, body: Buffer, sendBytes?: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = performance.now();
    const stream = session.request({
      ':method': 'POST',
      ':path': '/validate',
      'content-type': 'application/json',
      'content-length': String(body.byteLength),
    });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({
        review: text === '' ? undefined : (JSON.parse(text) as AdmissionReview),
        status,
        ms: performance.now() - started,
        rstCode: stream.rstCode,
      });
    });
    if (sendBytes === undefined) stream.end(body);
    else stream.write(body.subarray(0, sendBytes));
  });
}

/** One HTTP/1.1 request over a raw TLS socket, the body sent only up to `sendBytes`; `rest` sends the remainder. */
function h1Exchange(
  server: TestServer,
  body: Buffer,
  sendBytes: number,
): { readonly result: Promise<Exchange>; readonly rest: () => void } {
  const started = performance.now();
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: server.server.port,
    ca: server.ca,
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
  });
  const head = `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.byteLength}\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(head), body.subarray(0, sendBytes)]));
  const result = new Promise<Exchange>((resolve) => {
    const chunks: Buffer[] = [];
    let answered: Exchange | undefined;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      answered ??= parseHttp1(Buffer.concat(chunks).toString('utf8'), started);
      if (answered !== undefined && !/connection: close/i.test(Buffer.concat(chunks).toString('utf8'))) {
        resolve({ ...answered, closed: false });
        socket.end();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () =>
      resolve({ ...(answered ?? { review: undefined, status: 0, ms: performance.now() - started }), closed: true }),
    );
  });
  return { result, rest: () => socket.write(body.subarray(sendBytes)) };
}

function parseHttp1(text: string, started: number): Exchange | undefined {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const length = Number(/content-length: (\d+)/i.exec(text.slice(0, split))?.[1] ?? -1);
  const body = text.slice(split + 4);
  if (Buffer.byteLength(body) < length) return undefined;
  return {
    review: JSON.parse(body) as AdmissionReview,
    status: Number(text.slice(9, 12)),
    ms: performance.now() - started,
  };
}

function assertDenial(exchange: Exchange, code: number, message: string): void {
  assert.equal(exchange.status, 200);
  assert.deepEqual(exchange.review, {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: UID, allowed: false, status: { metadata: {}, status: 'Failure', code, message } },
  });
}

describe('replies echo the uid over real HTTPS', () => {
  let server: TestServer;
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(`${warning.name}: ${warning.message}`);
  };
  before(async () => {
    process.on('warning', onWarning);
    server = await startTestServer({ server: { bodyLimitBytes: BODY_LIMIT } });
  });
  after(async () => {
    process.off('warning', onWarning);
    await server.close();
  });

  const cases: readonly { name: string; body: Buffer; code: number; message: string }[] = [
    {
      name: 'a body over the limit',
      body: reviewBody({}, BODY_LIMIT + 1),
      code: 413,
      message: `request body is larger than the limit of ${BODY_LIMIT} bytes`,
    },
    { name: 'invalid JSON', body: reviewBody().subarray(0, 300), code: 400, message: 'request body is not valid JSON' },
    {
      name: 'no userInfo',
      body: reviewBody({ userInfo: undefined }),
      code: 400,
      message: 'request.userInfo is missing',
    },
    {
      name: 'a numeric request.name',
      body: reviewBody({ name: 7 }),
      code: 400,
      message: 'request.name must be a string, got (number)',
    },
  ];
  test('the table has every case', () => assert.equal(cases.length, 4));
  for (const bad of cases) {
    test(`HTTP/2, ${bad.name}: a review with the uid, the stream closed with NO_ERROR, the session still usable`, async () => {
      const session = http2Session(server.baseUrl, server.ca);
      try {
        const exchange = await h2Exchange(session, bad.body);
        assertDenial(exchange, bad.code, bad.message);
        assert.equal(exchange.rstCode, 0);
        const next = await postHttp2(session, '/validate', reviewBody());
        assert.equal((JSON.parse(next.body) as AdmissionReview).response?.allowed, true);
      } finally {
        session.close();
      }
    });
    test(`HTTP/1.1, ${bad.name}: a review with the uid`, async () => {
      const result = await postHttp1(server.baseUrl, '/validate', server.ca, bad.body);
      assertDenial(
        { status: result.status, review: JSON.parse(result.body) as AdmissionReview, ms: 0 },
        bad.code,
        bad.message,
      );
    });
  }

  test('no Node warning about the HTTP/1-only connection header was emitted', () => {
    assert.deepEqual(
      warnings.filter((warning) => /connection header/i.test(warning)),
      [],
    );
  });
});

describe('a per-request deadline on both protocols', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { requestTimeoutSeconds: 1, headersTimeoutSeconds: 1 } });
  });
  after(() => server.close());

  const TIMED_OUT = 'request was not received and reviewed within 1 s';

  test(
    'HTTP/1.1: a half-sent body gets a 408 review with the uid at the deadline, and the connection is closed',
    { timeout: 10_000 },
    async () => {
      const { result } = h1Exchange(server, reviewBody({}, 20_000), 5000);
      const exchange = await result;
      assertDenial(exchange, 408, TIMED_OUT);
      assert.equal(exchange.closed, true);
      assert.ok(exchange.ms >= 900 && exchange.ms < 2500, `answered after ${exchange.ms} ms`);
    },
  );

  test(
    'HTTP/2: a half-sent body gets a 408 review with the uid at the deadline; the stream ends with NO_ERROR, the session stays',
    { timeout: 10_000 },
    async () => {
      const session = http2Session(server.baseUrl, server.ca);
      try {
        const exchange = await h2Exchange(session, reviewBody({}, 20_000), 5000);
        assertDenial(exchange, 408, TIMED_OUT);
        assert.equal(exchange.rstCode, 0);
        assert.ok(exchange.ms >= 900 && exchange.ms < 2500, `answered after ${exchange.ms} ms`);
        const next = await postHttp2(session, '/validate', reviewBody());
        assert.equal((JSON.parse(next.body) as AdmissionReview).response?.allowed, true);
      } finally {
        session.close();
      }
    },
  );

  test('the listener limits are in force: HTTP/1.1 deadlines, connection cap, HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
    const http = server.server.app.server;
    assert.deepEqual([http.requestTimeout, http.headersTimeout, http.maxConnections], [3000, 1000, 1024]);
    const session = http2Session(server.baseUrl, server.ca);
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
        session.once('remoteSettings', resolve),
      );
      assert.equal(settings.maxConcurrentStreams, 128);
    } finally {
      session.close();
    }
  });
});

describe('bodies read at once are capped', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { bodyLimitBytes: BODY_LIMIT, maxInflightBodyBytes: 2 * BODY_LIMIT } });
  });
  after(() => server.close());

  test(
    'two largest bodies in flight fill the budget: a third is refused at once with a 429 review and its uid; the two complete',
    { timeout: 10_000 },
    async () => {
      const held = [
        h1Exchange(server, reviewBody({}, BODY_LIMIT), 5000),
        h1Exchange(server, reviewBody({}, BODY_LIMIT), 5000),
      ];
      assert.equal(held.length, 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const session = http2Session(server.baseUrl, server.ca);
      try {
        const refused = await h2Exchange(session, reviewBody({}, 10_000));
        assertDenial(refused, 429, 'too many large reviews are being read at once; try again');
        assert.ok(refused.ms < 500, `answered after ${refused.ms} ms`);
        for (const exchange of held) exchange.rest();
        for (const exchange of held) assert.equal((await exchange.result).review?.response?.allowed, true);
        const afterwards = await h2Exchange(session, reviewBody({}, 10_000));
        assert.equal(afterwards.review?.response?.allowed, true);
      } finally {
        session.close();
      }
    },
  );
});
