/**
 * A Kubernetes API over real HTTPS that replays recorded responses (test/fixtures/audit-lists): each
 * request's path and `continue` token pick a recorded body, anything else is the API server's
 * `404 page not found`. Writes a kubeconfig with its CA and a bearer token, and records each request.
 */
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServingBundle } from '../../../src/tls/generate.ts';
import { fixtureText } from '../../support/fixtures.ts';

export interface Recorded {
  readonly status: number;
  /** A file under test/fixtures/audit-lists/. */
  readonly file: string;
}

/** Path (and `?continue=<token>` for a later page) → recorded response. */
export type Routes = Readonly<Record<string, Recorded>>;

export interface FakeApi {
  readonly kubeconfig: string;
  /** `GET /path?query`, in order. */
  readonly requests: string[];
  readonly stop: () => Promise<void>;
}

export const TOKEN = 'fake-audit-token';

export async function startFakeApi(routes: Routes): Promise<FakeApi> {
  const bundle = generateServingBundle({
    commonName: '127.0.0.1',
    dnsNames: [],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
  });
  const requests: string[] = [];
  const server: Server = createServer(
    { cert: bundle.serving.certPem, key: bundle.serving.keyPem },
    (request, response) => {
      requests.push(`${request.method ?? ''} ${request.url ?? ''}`);
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.writeHead(401, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":401}');
        return;
      }
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      const token = url.searchParams.get('continue');
      const route = routes[token === null ? url.pathname : `${url.pathname}?continue=${token}`];
      if (route === undefined) {
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
        return;
      }
      const body = fixtureText(`audit-lists/${route.file}`);
      const type = route.file.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8';
      response.writeHead(route.status, { 'Content-Type': type }).end(body);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const directory = mkdtempSync(join(tmpdir(), 'dapr-guard-audit-fake-'));
  const kubeconfig = join(directory, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: {
            server: `https://127.0.0.1:${port}`,
            'certificate-authority-data': Buffer.from(bundle.ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'auditor', user: { token: TOKEN } }],
      contexts: [{ name: 'recorded', context: { cluster: 'fake', user: 'auditor' } }],
      'current-context': 'recorded',
    }),
  );
  return {
    kubeconfig,
    requests,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const NS = '/namespaces/bench-audit-0';

/** Every kind the audit lists in bench-audit-0, as recorded, Deployments in two pages of 20. */
export function recordedNamespace(): Record<string, Recorded> {
  const json = (file: string): Recorded => ({ status: 200, file });
  const page1 = JSON.parse(fixtureText('audit-lists/deployments-page-1.json')) as { metadata: { continue: string } };
  return {
    '/api/v1/namespaces/bench-audit-0': json('namespace.json'),
    [`/apis/apps/v1${NS}/deployments`]: json('deployments-page-1.json'),
    [`/apis/apps/v1${NS}/deployments?continue=${page1.metadata.continue}`]: json('deployments-page-2.json'),
    [`/apis/apps/v1${NS}/statefulsets`]: json('statefulsets.json'),
    [`/apis/apps/v1${NS}/daemonsets`]: json('daemonsets.json'),
    [`/apis/apps/v1${NS}/replicasets`]: json('replicasets.json'),
    [`/apis/batch/v1${NS}/cronjobs`]: json('cronjobs.json'),
    [`/apis/batch/v1${NS}/jobs`]: json('jobs.json'),
    [`/api/v1${NS}/pods`]: json('pods.json'),
    [`/apis/dapr.io/v1alpha1${NS}/components`]: json('components.json'),
    [`/apis/dapr.io/v1alpha1${NS}/configurations`]: json('configurations.json'),
    [`/apis/dapr.io/v1alpha1${NS}/httpendpoints`]: json('httpendpoints.json'),
    [`/apis/dapr.io/v1alpha1${NS}/mcpservers`]: json('mcpservers.json'),
    '/api/v1/namespaces/dapr-system/secrets/dapr-trust-bundle': { status: 404, file: 'trust-bundle-not-found.json' },
  };
}
