import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type Verb = 'get' | 'create' | 'update';

export interface StoredSecret {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly resourceVersion: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly type: string;
  readonly data?: Record<string, string>;
}

export interface FakeSecretApi {
  readonly kubeConfig: KubeConfig;
  /** "METHOD path" of every request, in order. */
  readonly requests: string[];
  readonly secret: () => StoredSecret | undefined;
  readonly stop: () => Promise<void>;
}

/**
 * One namespace's Secrets endpoint with the API server's optimistic concurrency (409 on a stale
 * resourceVersion) and RBAC (403 for a verb not granted).
 */
export async function startFakeSecretApi(options: {
  readonly verbs: readonly Verb[];
  readonly secret?: Omit<StoredSecret, 'metadata'> & {
    readonly metadata: Omit<StoredSecret['metadata'], 'resourceVersion'>;
  };
}): Promise<FakeSecretApi> {
  let stored: StoredSecret | undefined =
    options.secret === undefined
      ? undefined
      : { ...options.secret, metadata: { ...options.secret.metadata, resourceVersion: '1' } };
  let version = 1;
  const requests: string[] = [];
  const server = createServer((request, response) => {
    readBody(request).then(
      (body) => {
        requests.push(`${request.method ?? ''} ${request.url ?? ''}`);
        const verb = verbOf(request.method);
        if (verb === undefined || !options.verbs.includes(verb)) return status(response, 403, 'Forbidden');
        if (verb === 'get')
          return stored === undefined ? status(response, 404, 'NotFound') : json(response, 200, stored);
        const incoming = JSON.parse(body) as StoredSecret;
        if (verb === 'create' && stored !== undefined) return status(response, 409, 'AlreadyExists');
        if (
          verb === 'update' &&
          (stored === undefined || incoming.metadata.resourceVersion !== stored.metadata.resourceVersion)
        )
          return status(response, 409, 'Conflict');
        if (verb === 'update' && incoming.type !== stored?.type) return status(response, 422, 'Invalid');
        version += 1;
        stored = { ...incoming, metadata: { ...incoming.metadata, resourceVersion: String(version) } };
        return json(response, verb === 'create' ? 201 : 200, stored);
      },
      () => status(response, 400, 'BadRequest'),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      { name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return {
    kubeConfig,
    requests,
    secret: () => stored,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function verbOf(method: string | undefined): Verb | undefined {
  if (method === 'GET') return 'get';
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function status(response: ServerResponse, code: number, reason: string): void {
  json(response, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: reason });
}
