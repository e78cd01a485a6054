/**
 * Scenario 2, graceful stop under load: 64 reviews in flight (32 HTTP/1.1 connections, 32 HTTP/2 streams
 * on 4 sessions, each with half its body sent) when dapr-guard gets SIGTERM. Promise: /readyz answers
 * 503 while the listener still accepts connections; the listener then closes; the 64 bodies, finished
 * only after it closed, are all answered with a well-formed review echoing their uid; the process exits
 * 0 within the shutdown delay plus grace period. Repeated 20 times (10 in the short form).
 */
import assert from 'node:assert/strict';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'node:test';
import type { AdmissionReview } from '../../src/admission/wire.ts';
import {
  LONG,
  MountedSecret,
  POD_REVIEW,
  answersReview,
  eventually,
  getPlain,
  newLocalhostBundle,
  startGuard,
  type Guard,
} from './support/guard.ts';

/** 20 in the long form; 10 in the short form (`.ci/run`), which must stay within a few minutes. */
const REPETITIONS = LONG ? 20 : 10;
const IN_FLIGHT = { http1: 32, http2Sessions: 4, streamsPerSession: 8 } as const;
const DELAY_SECONDS = 1;
const GRACE_SECONDS = 5;

/** A review sent in two halves: `finish` sends the second; `answer` is its response. */
interface InFlight {
  readonly finish: () => void;
  readonly answer: Promise<{ status: number; body: Buffer }>;
}

function reviewBody(uid: string): Buffer {
  const review = JSON.parse(POD_REVIEW.toString('utf8')) as { request: { uid: string } };
  review.request.uid = uid;
  return Buffer.from(JSON.stringify(review));
}

function http1InFlight(port: number, ca: Buffer, body: Buffer): Promise<InFlight> {
  return new Promise((started, failed) => {
    let resolveAnswer: (value: { status: number; body: Buffer }) => void = () => undefined;
    let rejectAnswer: (error: Error) => void = () => undefined;
    const answer = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      resolveAnswer = resolve;
      rejectAnswer = reject;
    });
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolveAnswer({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', (error) => {
      failed(error);
      rejectAnswer(error);
    });
    request.on('socket', (socket) =>
      socket.once('secureConnect', () => {
        request.write(body.subarray(0, body.length / 2), () =>
          started({ finish: () => request.end(body.subarray(body.length / 2)), answer }),
        );
      }),
    );
  });
}

async function http2InFlight(session: ClientHttp2Session, body: Buffer): Promise<InFlight> {
  const stream = session.request({ ':method': 'POST', ':path': '/mutate', 'content-type': 'application/json' });
  const answer = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
  });
  await new Promise<void>((resolve) => stream.write(body.subarray(0, body.length / 2), () => resolve()));
  return { finish: () => stream.end(body.subarray(body.length / 2)), answer };
}

/** Whether a new TLS connection to the HTTPS port is accepted ('open') or refused. */
function listenerState(port: number, ca: Buffer): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.destroy();
      resolve('open');
    });
    socket.on('error', () => resolve('refused'));
  });
}

async function openSessions(guard: Guard, ca: Buffer): Promise<ClientHttp2Session[]> {
  return Promise.all(
    Array.from({ length: IN_FLIGHT.http2Sessions }, async () => {
      const session = http2Connect(`https://127.0.0.1:${guard.port}`, { ca, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      return session;
    }),
  );
}

interface StopFigures {
  readonly notReadyMs: number;
  readonly listenerClosedMs: number;
  readonly exitMs: number;
}

/** One certificate for every repetition: RSA key generation takes a second on a busy machine. */
const bundle = newLocalhostBundle();

async function stopOnce(repetition: number): Promise<StopFigures> {
  const ca = Buffer.from(bundle.ca.certPem);
  const guard = await startGuard(new MountedSecret(bundle.serving), [
    ...['--shutdown-delay-seconds', String(DELAY_SECONDS)],
    ...['--shutdown-grace-period-seconds', String(GRACE_SECONDS)],
  ]);
  const sessions = await openSessions(guard, ca);
  const bodies = Array.from({ length: IN_FLIGHT.http1 + sessions.length * IN_FLIGHT.streamsPerSession }, (_, index) =>
    reviewBody(`stop-${repetition}-${index}`),
  );
  assert.equal(bodies.length, 64);
  const inFlight = await Promise.all(
    bodies.map((body, index) =>
      index < IN_FLIGHT.http1
        ? http1InFlight(guard.port, ca, body)
        : http2InFlight(sessions[(index - IN_FLIGHT.http1) % sessions.length] as ClientHttp2Session, body),
    ),
  );
  const stoppedAt = Date.now();
  guard.child.kill('SIGTERM');
  const notReady = await eventually(async () => (await getPlain(guard.metricsPort, '/readyz')).status === 503, 900);
  const notReadyMs = Date.now() - stoppedAt;
  assert.ok(notReady, '/readyz answers 503 after SIGTERM');
  assert.equal(await listenerState(guard.port, ca), 'open', 'the listener still accepts while not ready');
  const closed = await eventually(async () => (await listenerState(guard.port, ca)) === 'refused', 5000);
  const listenerClosedMs = Date.now() - stoppedAt;
  assert.ok(closed, 'the listener closes after the shutdown delay');
  for (const request of inFlight) request.finish();
  const answers = await Promise.all(inFlight.map((request) => request.answer));
  assert.equal(answers.length, 64);
  answers.forEach((answer, index) => {
    assert.equal(answer.status, 200, `request ${index}`);
    const body = bodies[index] as Buffer;
    assert.ok(answersReview({ body }, answer.body), `request ${index}: ${answer.body.toString('utf8', 0, 200)}`);
    assert.equal(
      (JSON.parse(answer.body.toString('utf8')) as AdmissionReview).response?.uid,
      `stop-${repetition}-${index}`,
    );
  });
  const exit = await guard.exited;
  const exitMs = Date.now() - stoppedAt;
  for (const session of sessions) session.destroy();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(exitMs < (DELAY_SECONDS + GRACE_SECONDS) * 1000, `exited ${exitMs} ms after SIGTERM`);
  return { notReadyMs, listenerClosedMs, exitMs };
}

test(`graceful stop under load: SIGTERM with 64 reviews in flight, ${REPETITIONS} times`, async (t) => {
  const figures: StopFigures[] = [];
  for (let repetition = 1; repetition <= REPETITIONS; repetition += 1) figures.push(await stopOnce(repetition));
  assert.equal(figures.length, REPETITIONS);
  const max = (pick: (figure: StopFigures) => number): number => Math.max(...figures.map(pick));
  t.diagnostic(
    `${REPETITIONS} stops, ${REPETITIONS * 64} in-flight reviews answered, 0 errors; after SIGTERM: /readyz 503 within ` +
      `${max((figure) => figure.notReadyMs)} ms, listener closed within ${max((figure) => figure.listenerClosedMs)} ms, ` +
      `exit 0 within ${max((figure) => figure.exitMs)} ms (delay ${DELAY_SECONDS} s, grace ${GRACE_SECONDS} s)`,
  );
});
