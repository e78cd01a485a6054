import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../util/retry.ts';
import type { ClusterCredentials } from './cluster-credentials.ts';

/**
 * A JSON client for the Kubernetes API on the kubeconfig's credentials (tokens, client certificates,
 * exec plugins, as client-node applies them). The audit reads list pages as the API server sends them:
 * client-node's typed models would drop fields they do not know and turn timestamps into Dates.
 */
export interface ApiClient {
  request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<ApiResponse>;
  /** `https://127.0.0.1:6443`, for messages. */
  readonly server: string;
}

export type ApiResponse =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** A list page of 500 Pods is a few MiB; anything this large is not a page the audit asked for. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
const TIMEOUT_MS = 60_000;

/** 429 (API priority and fairness, a CRD's storage starting): retried after Retry-After, at most this often. */
const MAX_ATTEMPTS = 6;
const MAX_RETRY_AFTER_S = 10;

/** On client-node's kubeconfig (exec and auth-provider plugins included). */
export function createApiClient(kubeConfig: KubeConfig): ApiClient {
  return retrying(kubeConfig.getCurrentCluster()?.server ?? '', async () => {
    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    return options;
  });
}

/** On credentials read without client-node (cluster-credentials.ts). */
export function createApiClientFor(credentials: ClusterCredentials): ApiClient {
  const authorization =
    credentials.token !== undefined
      ? `Bearer ${credentials.token}`
      : credentials.basic === undefined
        ? undefined
        : `Basic ${credentials.basic}`;
  const options: RequestOptions & { rejectUnauthorized: boolean; servername?: string } = {
    ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
    ...(credentials.cert === undefined ? {} : { cert: credentials.cert }),
    ...(credentials.key === undefined ? {} : { key: credentials.key }),
    ...(credentials.tlsServerName === undefined ? {} : { servername: credentials.tlsServerName }),
    rejectUnauthorized: !credentials.insecureSkipTlsVerify,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  };
  return retrying(credentials.server, () => Promise.resolve(options));
}

function retrying(server: string, optionsOf: () => Promise<RequestOptions>): ApiClient {
  const once = requestOnce(optionsOf, server);
  return {
    server,
    request: async (method, path, body) => {
      let response = await once(method, path, body);
      for (let attempt = 1; attempt < MAX_ATTEMPTS && isThrottled(response); attempt += 1) {
        await sleep(Math.min(response.retryAfterSeconds ?? 1, MAX_RETRY_AFTER_S) * 1000);
        response = await once(method, path, body);
      }
      return response;
    },
  };
}

type RawResponse = ApiResponse & { readonly retryAfterSeconds?: number };

function isThrottled(response: RawResponse): boolean {
  return !response.ok && response.status === 429;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function requestOnce(
  optionsOf: () => Promise<RequestOptions>,
  server: string,
): (method: string, path: string, body: unknown) => Promise<RawResponse> {
  return async (method, path, body) => {
    const url = new URL(path, server);
    const options = await optionsOf();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<RawResponse>((resolve) => {
      const outgoing = send(
        url,
        {
          ...options,
          method,
          timeout: TIMEOUT_MS,
          headers: {
            ...(options.headers ?? {}),
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
        },
        (incoming) => readResponse(incoming, resolve),
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      outgoing.on('error', (error) => resolve({ ok: false, status: 0, message: describeError(error).message }));
      outgoing.end(payload);
    });
  };
}

function readResponse(incoming: IncomingMessage, resolve: (response: RawResponse) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  incoming.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      incoming.destroy();
      resolve({ ok: false, status: incoming.statusCode ?? 0, message: `response larger than ${MAX_BODY_BYTES} bytes` });
      return;
    }
    chunks.push(chunk);
  });
  incoming.on('error', (error) => resolve({ ok: false, status: 0, message: describeError(error).message }));
  incoming.on('end', () => {
    const status = incoming.statusCode ?? 0;
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      resolve({ ok: false, status, message: `HTTP ${status} with a body that is not JSON` });
      return;
    }
    if (status >= 200 && status < 300) resolve({ ok: true, status, body });
    else resolve({ ok: false, status, message: statusMessageOf(status, body), ...retryAfterOf(incoming) });
  });
}

const MAX_MESSAGE_LENGTH = 300;

/** The API server's `Status.message`, clipped; a fixed text when there is none. */
function statusMessageOf(status: number, body: unknown): string {
  const message =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : `HTTP ${status}`;
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
}

function retryAfterOf(incoming: IncomingMessage): { retryAfterSeconds?: number } {
  const header = incoming.headers['retry-after'];
  const seconds = typeof header === 'string' && /^\d{1,4}$/.test(header) ? Number(header) : undefined;
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}
