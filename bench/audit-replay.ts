// The audit's memory without a cluster: the recorded list responses of test/fixtures/audit-lists, each
// item copied 100-150 times into 100 namespaces (5,000 Pods, 3,000 Deployments and ReplicaSets, 2,000
// Components), served over HTTPS page by page (limit/continue), then `dapr-guard audit` from dist/
// under /usr/bin/time, once per NODE_OPTIONS given. The README's "Audit a cluster" table.
// Usage: npm run build && npx node bench/audit-replay.ts [--output json|text] [--node-options='<NODE_OPTIONS>' …]
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateServingBundle } from '../src/tls/generate.ts';
import { fixtureText } from '../test/support/fixtures.ts';

const { values } = parseArgs({
  options: { output: { type: 'string', default: 'json' }, 'node-options': { type: 'string', multiple: true } },
});
const COPIES = {
  pods: ['pods.json', 100],
  deployments: ['deployments-page-1.json', 150],
  replicasets: ['replicasets.json', 100],
  components: ['components.json', 100],
} as const;

function copiesOf(file: string, times: number): Record<string, unknown>[] {
  const items = (JSON.parse(fixtureText(`audit-lists/${file}`)) as { items: { metadata: Record<string, unknown> }[] })
    .items;
  return Array.from({ length: times }, (_, copy) =>
    items.map((item) => ({
      ...item,
      metadata: {
        ...item.metadata,
        name: `${String(item.metadata['name'])}-${copy}`,
        uid: `${copy}-${String(item.metadata['uid'])}`,
        namespace: `bench-${copy % 100}`,
      },
    })),
  ).flat();
}

const collections = new Map(
  Object.entries(COPIES).map(([resource, [file, times]]) => [resource, copiesOf(file, times)]),
);
const bundle = generateServingBundle({
  commonName: '127.0.0.1',
  dnsNames: [],
  ipAddresses: ['127.0.0.1'],
  validityDays: 1,
});
const server = createServer({ cert: bundle.serving.certPem, key: bundle.serving.keyPem }, (request, response) => {
  const url = new URL(request.url ?? '/', 'https://127.0.0.1');
  const items = collections.get(url.pathname.split('/').at(-1) ?? '');
  if (items === undefined) {
    // Every other kind is served, and empty.
    response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"List","metadata":{},"items":[]}');
    return;
  }
  const limit = Number(url.searchParams.get('limit') ?? '500');
  const start = Number(url.searchParams.get('continue') ?? '0');
  const next = start + limit < items.length ? String(start + limit) : undefined;
  const page = {
    kind: 'List',
    metadata: next === undefined ? {} : { continue: next },
    items: items.slice(start, start + limit),
  };
  response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(page));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const kubeconfig = join(mkdtempSync(join(tmpdir(), 'dapr-guard-audit-replay-')), 'kubeconfig');
writeFileSync(
  kubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'replay',
        cluster: {
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          'certificate-authority-data': Buffer.from(bundle.ca.certPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'replay', user: { token: 'replay' } }],
    contexts: [{ name: 'replay', context: { cluster: 'replay', user: 'replay' } }],
    'current-context': 'replay',
  }),
);
const dist = new URL('../dist/main.js', import.meta.url).pathname;
for (const nodeOptions of values['node-options'] ?? ['']) {
  const started = Date.now();
  const stderr = await new Promise<string>((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', 'maxrss-kib %M', process.execPath, dist, 'audit', '--kubeconfig', kubeconfig, '-o', values.output],
      { env: { ...process.env, NODE_OPTIONS: nodeOptions }, maxBuffer: 1 << 30 },
      (_error, _stdout, text) => resolve(text),
    );
  });
  const rss = /maxrss-kib (\d+)/.exec(stderr)?.[1];
  const listed = stderr.split('\n').find((line) => line.includes('listed')) ?? stderr;
  process.stdout.write(
    `NODE_OPTIONS=${JSON.stringify(nodeOptions)} -o ${values.output}: ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${rss === undefined ? '?' : (Number(rss) / 1024).toFixed(0)} MiB — ${listed}\n`,
  );
}
server.close();
