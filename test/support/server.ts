import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildConfig, type Config, type ConfigLayer } from '../../src/config/config.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';

export interface TestServer {
  readonly server: RunningServer;
  readonly config: Config;
  readonly baseUrl: string;
  readonly ca: Buffer;
  /** Every log line written so far, parsed. */
  readonly logs: () => Record<string, unknown>[];
  readonly rawLogs: () => string;
  readonly close: () => Promise<void>;
}

/** A real dapr-guard HTTPS server on ephemeral ports, with certificates generated into a temp dir. */
export async function startTestServer(layer: ConfigLayer = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-server-'));
  const base = buildConfig(
    [
      {
        tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') },
        namespaceModes: { source: 'off' },
      },
      layer,
    ],
    RULE_IDS,
  );
  const config: Config = { ...base, server: { ...base.server, port: 0 }, metrics: { ...base.metrics, port: 0 } };
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const server = await startServer(config, logger, {});
  return {
    server,
    config,
    baseUrl: `https://127.0.0.1:${server.port}`,
    ca: readFileSync(config.tls.caFile),
    logs: () =>
      lines
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    rawLogs: () => lines.join(''),
    close: () => server.shutdown(),
  };
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly httpVersion: string;
}

/** HTTP/1.1 over TLS with the test CA. */
export function postHttp1(
  baseUrl: string,
  path: string,
  ca: Buffer,
  body: string | Buffer,
  contentType = 'application/json',
): Promise<HttpResult> {
  const options = { method: 'POST', ca, headers: { 'content-type': contentType }, agent: false };
  return requestHttp1(`${baseUrl}${path}`, options, body);
}

export function getHttp1(baseUrl: string, path: string, ca: Buffer): Promise<HttpResult> {
  return requestHttp1(`${baseUrl}${path}`, { method: 'GET', ca, agent: false });
}

function requestHttp1(url: string, options: RequestOptions, body?: string | Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          httpVersion: response.httpVersion,
        }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

export function http2Session(baseUrl: string, ca: Buffer): ClientHttp2Session {
  return http2Connect(baseUrl, { ca });
}

/** One HTTP/2 request on a session (the API server keeps one session open and sends many reviews on it). */
export function postHttp2(
  session: ClientHttp2Session,
  path: string,
  body: string | Buffer,
  contentType = 'application/json',
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType });
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (responseHeaders) => {
      status = Number(responseHeaders[':status']);
      headers = responseHeaders;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () =>
      resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8'), httpVersion: '2.0' }),
    );
    stream.on('error', reject);
    stream.end(body);
  });
}
