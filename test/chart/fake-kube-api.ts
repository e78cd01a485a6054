/**
 * A minimal Kubernetes API for `helm template --dry-run=server`, run as its own process (helm is
 * called synchronously by the tests). It serves what Helm's lookup() needs: the discovery of the
 * core group and GET of the Secrets given in the FAKE_KUBE_SECRETS environment variable (a JSON
 * list of Secret objects); everything else is 404. Prints "listening <port>" when ready, and each
 * request it serves as "request <method> <path>" on stderr.
 *
 *   FAKE_KUBE_SECRETS='[{"metadata":{"name":"x","namespace":"ns"},"data":{...}}]' node test/chart/fake-kube-api.ts
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FakeSecret {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly type?: string;
  readonly data: Readonly<Record<string, string>>;
}

export interface FakeKubeApi {
  /** A kubeconfig file pointing at the fake API. */
  readonly kubeconfig: string;
  /** Requests served so far ("GET /api/v1/..."), as far as this process has read them. */
  readonly requests: () => string[];
  /** Waits (up to 5 s) until this request ("GET /api/v1/...") has been served; false if it never was. */
  readonly served: (request: string) => Promise<boolean>;
  readonly stop: () => Promise<void>;
}

/** Starts the fake API in a child process with these Secrets. */
export async function startFakeKubeApi(secrets: readonly FakeSecret[]): Promise<FakeKubeApi> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, FAKE_KUBE_SECRETS: JSON.stringify(secrets) },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening (\d+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fake API exited (${code}): ${stderr}`)));
  });
  const directory = mkdtempSync(join(tmpdir(), 'dapr-guard-fake-kube-'));
  const kubeconfig = join(directory, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: fake, user: {}}]',
      'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  const requests = (): string[] => [...stderr.matchAll(/^request (.*)$/gm)].map((match) => match[1] ?? '');
  const served = async (request: string): Promise<boolean> => {
    const deadline = Date.now() + 5000;
    while (!requests().includes(request) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return requests().includes(request);
  };
  return {
    kubeconfig,
    requests,
    served,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill();
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function serve(secrets: readonly FakeSecret[]): void {
  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    process.stderr.write(`request ${request.method ?? ''} ${path}\n`);
    if (path === '/api/v1') {
      return json(response, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'v1',
        resources: [
          {
            name: 'secrets',
            singularName: 'secret',
            namespaced: true,
            kind: 'Secret',
            verbs: ['get', 'list', 'watch'],
          },
        ],
      });
    }
    const secret = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(path);
    const found =
      secret === null
        ? undefined
        : secrets.find((s) => s.metadata.namespace === secret[1] && s.metadata.name === secret[2]);
    if (found !== undefined)
      return json(response, 200, { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', ...found });
    return json(response, 404, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: `${path} not found`,
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  serve(JSON.parse(process.env['FAKE_KUBE_SECRETS'] ?? '[]') as FakeSecret[]);
}
