// A closed-loop load generator for `npm run bench`: each connection sends one review, waits for the
// whole response, records its latency in microseconds and sends the next. HTTP/1.1 (keep-alive) or
// HTTP/2 (one session per connection, one stream at a time), both over TLS like the API server's
// calls to a webhook. autocannon records latency in whole milliseconds, too coarse for sub-millisecond
// reviews; this keeps exact values.
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export type Protocol = 'http/1.1' | 'h2';

export interface LoadOptions {
  readonly port: number;
  readonly path: string;
  readonly body: Buffer;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly protocol: Protocol;
}

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Responses other than HTTP 200, and connection errors. */
  readonly failures: number;
  readonly latencyMicros: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

/** One connection's loop: resolves when the deadline has passed and its last request finished. */
type Worker = (deadline: bigint, record: (micros: number, ok: boolean) => void) => Promise<void>;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  const record = (micros: number, ok: boolean): void => {
    if (ok) latencies.push(micros);
    else failures += 1;
  };
  const workers = await Promise.all(
    Array.from({ length: options.connections }, () =>
      options.protocol === 'h2' ? http2Worker(options) : http1Worker(options),
    ),
  );
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(options.durationSeconds * 1e9));
  await Promise.all(workers.map((worker) => worker.run(deadline, record)));
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const worker of workers) worker.close();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    requestsPerSecond: latencies.length / elapsedSeconds,
    failures,
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

interface Connection {
  readonly run: Worker;
  readonly close: () => void;
}

async function http1Worker(options: LoadOptions): Promise<Connection> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: options.port,
    servername: 'localhost',
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const head = Buffer.from(
    `POST ${options.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${options.body.length}\r\n\r\n`,
  );
  const request = Buffer.concat([head, options.body]);
  return { run: (deadline, record) => http1Loop(socket, request, deadline, record), close: () => socket.destroy() };
}

function http1Loop(
  socket: TLSSocket,
  request: Buffer,
  deadline: bigint,
  record: (micros: number, ok: boolean) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    let sentAt = 0n;
    const send = (): void => {
      if (process.hrtime.bigint() >= deadline) {
        socket.off('data', onData);
        resolve();
        return;
      }
      sentAt = process.hrtime.bigint();
      socket.write(request);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const response = completeResponse(received);
      if (response === undefined) return;
      record(Number(process.hrtime.bigint() - sentAt) / 1000, response.status === 200);
      received = received.subarray(response.length);
      send();
    };
    socket.on('data', onData);
    socket.once('error', reject);
    send();
  });
}

/** The status and byte length of a complete HTTP/1.1 response with Content-Length at the start of `data`. */
function completeResponse(data: Buffer): { status: number; length: number } | undefined {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = data.toString('latin1', 0, headerEnd);
  const contentLength = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  const length = headerEnd + 4 + contentLength;
  if (data.length < length) return undefined;
  return { status: Number(head.slice(9, 12)), length };
}

async function http2Worker(options: LoadOptions): Promise<Connection> {
  const session = http2Connect(`https://127.0.0.1:${options.port}`, {
    servername: 'localhost',
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  return { run: (deadline, record) => http2Loop(session, options, deadline, record), close: () => session.destroy() };
}

async function http2Loop(
  session: ClientHttp2Session,
  options: LoadOptions,
  deadline: bigint,
  record: (micros: number, ok: boolean) => void,
): Promise<void> {
  const headers = { ':method': 'POST', ':path': options.path, 'content-type': 'application/json' };
  while (process.hrtime.bigint() < deadline) {
    const sentAt = process.hrtime.bigint();
    const status = await new Promise<number>((resolve) => {
      const stream = session.request(headers);
      let code = 0;
      stream.on('response', (response) => (code = Number(response[':status'])));
      stream.on('data', () => undefined);
      stream.on('end', () => resolve(code));
      stream.on('error', () => resolve(0));
      stream.end(options.body);
    });
    record(Number(process.hrtime.bigint() - sentAt) / 1000, status === 200);
  }
}
