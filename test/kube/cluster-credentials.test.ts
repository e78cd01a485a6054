import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { readClusterCredentials } from '../../src/kube/cluster-credentials.ts';

const directory = mkdtempSync(join(tmpdir(), 'dapr-guard-credentials-'));
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function kubeconfig(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

/** A kind-style kubeconfig: the CA as data, a client certificate as files next to it, a second context with a token. */
const KIND = kubeconfig(
  'kind.yaml',
  `apiVersion: v1
kind: Config
current-context: kind-dev
clusters:
  - name: kind-dev
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: ${Buffer.from(CA).toString('base64')}
  - name: remote
    cluster: {server: "https://api.example.test", insecure-skip-tls-verify: true, tls-server-name: api.internal}
contexts:
  - name: kind-dev
    context: {cluster: kind-dev, user: admin}
  - name: ci
    context: {cluster: remote, user: ci}
  - name: eks
    context: {cluster: remote, user: aws}
users:
  - name: admin
    user: {client-certificate: certs/admin.crt, client-key: certs/admin.key}
  - name: ci
    user: {token: ci-token}
  - name: aws
    user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}}
`,
);

describe('readClusterCredentials', () => {
  test('the current context: CA data, client certificate files relative to the kubeconfig', () => {
    const kubeconfigDir = mkdtempSync(join(directory, 'kind-'));
    const file = join(kubeconfigDir, 'config');
    writeFileSync(file, readFileSync(KIND));
    assert.deepEqual(readClusterCredentials({ file, context: undefined }, {}), {
      kind: 'problem',
      message: `context "kind-dev": cannot read ${join(kubeconfigDir, 'certs', 'admin.crt')}: ENOENT`,
    });
    mkdirSync(join(kubeconfigDir, 'certs'));
    writeFileSync(join(kubeconfigDir, 'certs', 'admin.crt'), 'CERT');
    writeFileSync(join(kubeconfigDir, 'certs', 'admin.key'), 'KEY');
    assert.deepEqual(readClusterCredentials({ file, context: undefined }, {}), {
      kind: 'credentials',
      credentials: {
        context: 'kind-dev',
        server: 'https://127.0.0.1:6443',
        insecureSkipTlsVerify: false,
        ca: Buffer.from(CA),
        cert: Buffer.from('CERT'),
        key: Buffer.from('KEY'),
      },
    });
  });

  test('--context with a token, insecure-skip-tls-verify and tls-server-name', () => {
    const read = readClusterCredentials({ file: KIND, context: 'ci' }, {});
    assert.deepEqual(read, {
      kind: 'credentials',
      credentials: {
        context: 'ci',
        server: 'https://api.example.test',
        insecureSkipTlsVerify: true,
        tlsServerName: 'api.internal',
        token: 'ci-token',
      },
    });
  });

  test('an exec plugin is left to client-node', () => {
    assert.deepEqual(readClusterCredentials({ file: KIND, context: 'eks' }, {}), { kind: 'plugin' });
  });

  test('an unknown context names the known ones', () => {
    assert.deepEqual(readClusterCredentials({ file: KIND, context: 'prod' }, {}), {
      kind: 'problem',
      message: 'the kubeconfig has no context "prod"; its contexts: kind-dev, ci, eks',
    });
  });

  test('$KUBECONFIG lists files: a missing one is skipped, the first to name a context wins', () => {
    const first = kubeconfig(
      'first.yaml',
      'current-context: ci\ncontexts: [{name: ci, context: {cluster: local, user: ci}}]\nclusters: [{name: local, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: ci, user: {token: first}}]\n',
    );
    const env = { KUBECONFIG: [join(directory, 'absent.yaml'), first, KIND].join(delimiter) };
    const read = readClusterCredentials({ file: undefined, context: undefined }, env);
    assert.equal(read.kind, 'credentials');
    assert.deepEqual(read.kind === 'credentials' ? [read.credentials.server, read.credentials.token] : [], [
      'https://127.0.0.1:1',
      'first',
    ]);
  });

  test('an unreadable or invalid --kubeconfig is a problem that names it', () => {
    assert.deepEqual(readClusterCredentials({ file: join(directory, 'nope.yaml'), context: undefined }, {}), {
      kind: 'problem',
      message: `cannot read the kubeconfig ${join(directory, 'nope.yaml')}: ENOENT`,
    });
    const broken = kubeconfig('broken.yaml', 'clusters: [\n');
    const read = readClusterCredentials({ file: broken, context: undefined }, {});
    assert.equal(read.kind, 'problem');
    assert.match(
      read.kind === 'problem' ? read.message : '',
      new RegExp(`^the kubeconfig ${broken.replaceAll('/', '\\/')} is not valid YAML: `),
    );
  });
});
