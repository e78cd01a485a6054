// A closed-loop load generator for `npm run bench` and the reliability suite (test/reliability/): each
// connection sends one review, waits for the whole response, records its latency in microseconds and
// sends the next. HTTP/1.1 (keep-alive) or HTTP/2 (one session per connection, one stream at a time),
// both over TLS like the API server's calls to a webhook. autocannon records latency in whole
// milliseconds, too coarse for sub-millisecond reviews; this keeps exact values.
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export type Protocol = 'http/1.1' | 'h2';

export interface LoadRequest {
  readonly path: string;
  readonly body: Buffer;
}

export interface LoadOptions {
  readonly port: number;
  readonly path: string;
  readonly body: Buffer;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly protocol: Protocol;
  /** Verify the server's certificate against these CAs (the API server's caBundle); default: no verification. */
  readonly ca?: readonly Buffer[];
  /** Close and open the connection after this many requests, so that handshakes go on during the run. */
  readonly requestsPerConnection?: number;
  /** Requests sent in turn instead of `path` and `body` (mixed traffic). */
  readonly mix?: readonly LoadRequest[];
  /** Each connection starts a request at most every `paceMs` (a steady rate); default: as fast as answered. */
  readonly paceMs?: number;
  /** Whether a 200 response's body is the answer expected (a well-formed review); default: any 200 is. */
  readonly accept?: (request: LoadRequest, body: Buffer) => boolean;
}

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Responses other than HTTP 200 or not accepted, and requests cut off by a connection error. */
  readonly failures: number;
  /** Connections whose TLS handshake failed. */
  readonly handshakeErrors: number;
  /** Connections established (TLS handshakes that succeeded). */
  readonly handshakes: number;
  /** The first few failure descriptions, for a test's message. */
  readonly failureSamples: readonly string[];
  readonly latencyMicros: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

const FAILURE_SAMPLES = 5;
/** Wait before reconnecting after a failed handshake: a refused port must not become a busy loop. */
const RECONNECT_DELAY_MS = 50;

interface Recorder {
  readonly latencies: number[];
  failures: number;
  handshakeErrors: number;
  handshakes: number;
  readonly samples: string[];
}

function fail(recorder: Recorder, what: string): void {
  recorder.failures += 1;
  if (recorder.samples.length < FAILURE_SAMPLES) recorder.samples.push(what);
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const recorder: Recorder = { latencies: [], failures: 0, handshakeErrors: 0, handshakes: 0, samples: [] };
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(options.durationSeconds * 1e9));
  await Promise.all(
    Array.from({ length: options.connections }, (_, index) => worker(options, index, deadline, recorder)),
  );
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const latencies = recorder.latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    requestsPerSecond: latencies.length / elapsedSeconds,
    failures: recorder.failures,
    handshakeErrors: recorder.handshakeErrors,
    handshakes: recorder.handshakes,
    failureSamples: recorder.samples,
    latencyMicros: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    },
  };
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0);
}

/** One request over an open connection: its response status and body, or an error description. */
type Send = (request: LoadRequest) => Promise<{ status: number; body: Buffer } | { error: string }>;

interface Connection {
  readonly send: Send;
  readonly close: () => void;
}

/** One connection slot: connects, sends until the deadline or `requestsPerConnection`, reconnects. */
async function worker(options: LoadOptions, index: number, deadline: bigint, recorder: Recorder): Promise<void> {
  const requests = options.mix ?? [{ path: options.path, body: options.body }];
  let next = index;
  while (process.hrtime.bigint() < deadline) {
    const connection = await connectOrRecord(options, recorder);
    if (connection === undefined) {
      await sleep(RECONNECT_DELAY_MS);
      continue;
    }
    try {
      for (let sent = 0; sent < (options.requestsPerConnection ?? Infinity); sent += 1) {
        if (process.hrtime.bigint() >= deadline) return;
        const request = requests[next % requests.length] as LoadRequest;
        next += 1;
        if (!(await sendOne(connection.send, request, options, recorder))) break;
      }
    } finally {
      connection.close();
    }
  }
}

/** Sends, records and paces one request; false when the connection is no longer usable. */
async function sendOne(send: Send, request: LoadRequest, options: LoadOptions, recorder: Recorder): Promise<boolean> {
  const sentAt = process.hrtime.bigint();
  const outcome = await send(request);
  const micros = Number(process.hrtime.bigint() - sentAt) / 1000;
  if ('error' in outcome) {
    fail(recorder, `${request.path}: ${outcome.error}`);
    return false;
  }
  if (outcome.status !== 200) fail(recorder, `${request.path}: HTTP ${outcome.status}`);
  else if (options.accept !== undefined && !options.accept(request, outcome.body))
    fail(recorder, `${request.path}: unexpected answer ${outcome.body.toString('utf8', 0, 200)}`);
  else recorder.latencies.push(micros);
  if (options.paceMs !== undefined) await sleep(options.paceMs - micros / 1000);
  return true;
}

async function connectOrRecord(options: LoadOptions, recorder: Recorder): Promise<Connection | undefined> {
  try {
    const connection = await (options.protocol === 'h2' ? http2Connection(options) : http1Connection(options));
    recorder.handshakes += 1;
    return connection;
  } catch (error: unknown) {
    recorder.handshakeErrors += 1;
    if (recorder.samples.length < FAILURE_SAMPLES)
      recorder.samples.push(`handshake: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function tlsOptions(options: LoadOptions): { rejectUnauthorized: boolean; ca?: Buffer[] } {
  return options.ca === undefined ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ca: [...options.ca] };
}

async function http1Connection(options: LoadOptions): Promise<Connection> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: options.port,
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
    ...tlsOptions(options),
  });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  // A later error arrives through the pending request, or not at all once idle.
  socket.on('error', () => undefined);
  return { send: (request) => http1Send(socket, request), close: () => socket.destroy() };
}

function http1Send(socket: TLSSocket, request: LoadRequest): ReturnType<Send> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    const done = (outcome: Awaited<ReturnType<Send>>): void => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const response = completeResponse(received);
      if (response !== undefined)
        done({ status: response.status, body: received.subarray(response.bodyStart, response.length) });
    };
    const onError = (error: Error): void => done({ error: error.message });
    const onClose = (): void => done({ error: 'connection closed before the response' });
    socket.on('data', onData).on('error', onError).on('close', onClose);
    const head = `POST ${request.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${request.body.length}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(head), request.body]));
  });
}

/** The status, body start and byte length of a complete HTTP/1.1 response with Content-Length at the start of `data`. */
function completeResponse(data: Buffer): { status: number; bodyStart: number; length: number } | undefined {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = data.toString('latin1', 0, headerEnd);
  const contentLength = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  const length = headerEnd + 4 + contentLength;
  if (data.length < length) return undefined;
  return { status: Number(head.slice(9, 12)), bodyStart: headerEnd + 4, length };
}

async function http2Connection(options: LoadOptions): Promise<Connection> {
  const session = http2Connect(`https://127.0.0.1:${options.port}`, {
    servername: 'localhost',
    ...tlsOptions(options),
  });
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  session.on('error', () => undefined);
  return { send: (request) => http2Send(session, request), close: () => session.destroy() };
}

function http2Send(session: ClientHttp2Session, request: LoadRequest): ReturnType<Send> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) return resolve({ error: 'session closed' });
    const stream = session.request({ ':method': 'POST', ':path': request.path, 'content-type': 'application/json' });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (response) => (status = Number(response[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () =>
      resolve(status === 0 ? { error: 'stream ended without a response' } : { status, body: Buffer.concat(chunks) }),
    );
    stream.on('error', (error: Error) => resolve({ error: error.message }));
    stream.end(request.body);
  });
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
