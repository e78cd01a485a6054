import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { helmLint, helmTemplate, helmTemplateResult, type KubeObject } from '../support/helm.ts';
import { startFakeKubeApi, type FakeKubeApi, type FakeSecret } from './fake-kube-api.ts';
import {
  allWebhooks,
  configText,
  containerOf,
  deploymentOf,
  FAKE_CA_PEM,
  findAll,
  findOne,
  NAMESPACE,
  TLS_CHOICES,
  type Volume,
} from './objects.ts';

const SERVICE_DNS_NAMES = [
  'dapr-guard',
  `dapr-guard.${NAMESPACE}`,
  `dapr-guard.${NAMESPACE}.svc`,
  `dapr-guard.${NAMESPACE}.svc.cluster.local`,
];
const TLS_DIR = '/var/run/dapr-guard/tls';

function secretData(objects: readonly KubeObject[], name: string): Record<string, string> {
  const secret = findOne(objects, 'Secret', name);
  assert.equal(secret['type'], 'kubernetes.io/tls');
  const data = secret['data'] as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );
}

/** The caBundle of every webhook entry (decoded); all must be the same. */
function caBundle(objects: readonly KubeObject[]): string {
  const bundles = new Set(allWebhooks(objects).map((webhook) => webhook.clientConfig.caBundle));
  assert.equal(bundles.size, 1, 'every entry carries the same caBundle');
  const [bundle] = bundles;
  assert.ok(bundle !== undefined, 'caBundle is set');
  return Buffer.from(bundle, 'base64').toString('utf8');
}

function pemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function tlsVolume(objects: readonly KubeObject[]): Volume {
  const volume = deploymentOf(objects).spec.template.spec.volumes?.find((candidate) => candidate.name === 'tls');
  assert.ok(volume, 'the pod has a tls volume');
  return volume;
}

function serverTlsConfig(objects: readonly KubeObject[]): Record<string, unknown> {
  return (parseYaml(configText(objects)) as { tls: Record<string, unknown> }).tls;
}

function injectAnnotations(objects: readonly KubeObject[]): (string | undefined)[] {
  return ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].map(
    (kind) => findOne(objects, kind).metadata?.annotations?.['cert-manager.io/inject-ca-from'],
  );
}

describe('TLS choice 1 (default): chart-generated CA and serving certificate', () => {
  const objects = helmTemplate();
  const data = secretData(objects, 'dapr-guard-tls');

  it('puts ca.crt, tls.crt and tls.key in the kubernetes.io/tls Secret dapr-guard-tls', () => {
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.match(data['tls.key'] ?? '', /-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('issues a serving certificate for the Service DNS names, signed by the CA', () => {
    const ca = new X509Certificate(data['ca.crt'] ?? '');
    const certificate = new X509Certificate(data['tls.crt'] ?? '');
    assert.equal(ca.ca, true);
    assert.ok(certificate.verify(ca.publicKey), 'signed by the CA');
    assert.ok(certificate.checkIssued(ca));
    for (const name of SERVICE_DNS_NAMES) assert.equal(certificate.checkHost(name), name, name);
  });

  it('makes both valid for at most a year, and refuses a longer validity', () => {
    const DAY_MS = 24 * 3600 * 1000;
    const certificates = [new X509Certificate(data['ca.crt'] ?? ''), new X509Certificate(data['tls.crt'] ?? '')];
    assert.equal(certificates.length, 2);
    for (const certificate of certificates) {
      const days = (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / DAY_MS;
      assert.ok(days <= 365, `${certificate.subject}: valid ${days.toFixed(1)} days`);
    }
    for (const key of ['caValidityDays', 'certValidityDays']) {
      const result = helmTemplateResult({ values: { tls: { generate: { [key]: 366 } } } });
      assert.equal(result.ok, false, key);
      assert.match(result.stderr, new RegExp(`tls\\.generate\\.${key}: Must be less than or equal to 365`));
    }
  });

  it('gives every webhook entry that CA as caBundle (computed once per render)', () => {
    assert.equal(caBundle(objects).trim(), (data['ca.crt'] ?? '').trim());
    assert.deepEqual(injectAnnotations(objects), [undefined, undefined]);
  });

  it('mounts the Secret read-only where the configuration points', () => {
    assert.deepEqual(tlsVolume(objects).secret, { secretName: 'dapr-guard-tls', defaultMode: 0o440 });
    assert.deepEqual(
      containerOf(objects).volumeMounts?.find((mount) => mount.name === 'tls'),
      { name: 'tls', mountPath: TLS_DIR, readOnly: true },
    );
    const tls = serverTlsConfig(objects);
    assert.equal(tls['certFile'], `${TLS_DIR}/tls.crt`);
    assert.equal(tls['keyFile'], `${TLS_DIR}/tls.key`);
    assert.equal(tls['generateIfMissing'], false);
    assert.equal(tls['selfManaged'], undefined);
  });

  it('makes a new CA on every render without a cluster (helm template has nothing to look up)', () => {
    const again = secretData(helmTemplate(), 'dapr-guard-tls');
    assert.notEqual(again['ca.crt'], data['ca.crt']);
  });
});

describe('TLS choice 1: the CA and certificate survive helm upgrade (lookup of the existing Secret)', () => {
  let api: FakeKubeApi;
  const first = secretData(helmTemplate(), 'dapr-guard-tls');
  const encoded = (values: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  const existing: FakeSecret = { metadata: { name: 'dapr-guard-tls', namespace: NAMESPACE }, data: encoded(first) };
  const incomplete: FakeSecret = {
    metadata: { name: 'dapr-guard-tls', namespace: 'other' },
    data: encoded({ 'ca.crt': first['ca.crt'] ?? '', 'tls.crt': first['tls.crt'] ?? '' }),
  };

  before(async () => {
    api = await startFakeKubeApi([existing, incomplete]);
  });
  after(async () => {
    await api.stop();
  });

  it('reuses the existing CA, certificate and key, and keeps the caBundle on that CA', async () => {
    const objects = helmTemplate({ kubeconfig: api.kubeconfig });
    assert.ok(
      await api.served(`GET /api/v1/namespaces/${NAMESPACE}/secrets/dapr-guard-tls`),
      api.requests().join('\n'),
    );
    assert.deepEqual(secretData(objects, 'dapr-guard-tls'), first);
    assert.equal(caBundle(objects).trim(), first['ca.crt']?.trim());
  });

  it('with tls.generate.regenerate, replaces the pair and trusts the new and the previous CA', () => {
    const objects = helmTemplate({ kubeconfig: api.kubeconfig, values: { tls: { generate: { regenerate: true } } } });
    const renewed = secretData(objects, 'dapr-guard-tls');
    assert.notEqual(renewed['ca.crt'], first['ca.crt']);
    assert.notEqual(renewed['tls.key'], first['tls.key']);
    const bundle = pemCertificates(caBundle(objects));
    assert.equal(bundle.length, 2);
    assert.equal(bundle[0]?.trim(), renewed['ca.crt']?.trim(), 'the new CA first');
    assert.equal(bundle[1]?.trim(), first['ca.crt']?.trim(), 'the previous CA still trusted');
    assert.ok(
      new X509Certificate(renewed['tls.crt'] ?? '').verify(new X509Certificate(renewed['ca.crt'] ?? '').publicKey),
    );
  });

  it('generates a new pair when the existing Secret is incomplete', () => {
    const objects = helmTemplate({ kubeconfig: api.kubeconfig, namespace: 'other' });
    const data = secretData(objects, 'dapr-guard-tls');
    assert.notEqual(data['ca.crt'], first['ca.crt']);
    assert.equal(pemCertificates(caBundle(objects)).length, 2, 'the old ca.crt stays trusted while replicas switch');
  });
});

describe('TLS choice 2: cert-manager', () => {
  const objects = helmTemplate({ values: TLS_CHOICES.certManager });

  it('builds a CA chain: self-signed Issuer, CA Certificate, CA Issuer, serving Certificate', () => {
    assert.deepEqual(
      findAll(objects, 'Issuer').map((issuer) => issuer.metadata?.name),
      ['dapr-guard-selfsigned', 'dapr-guard-ca'],
    );
    assert.deepEqual(
      findAll(objects, 'Certificate').map((certificate) => certificate.metadata?.name),
      ['dapr-guard-ca', 'dapr-guard-serving'],
    );
    const ca = findOne(objects, 'Certificate', 'dapr-guard-ca')['spec'] as Record<string, unknown>;
    assert.equal(ca['isCA'], true);
    assert.deepEqual(ca['issuerRef'], { name: 'dapr-guard-selfsigned', kind: 'Issuer', group: 'cert-manager.io' });
    assert.deepEqual((findOne(objects, 'Issuer', 'dapr-guard-ca')['spec'] as Record<string, unknown>)['ca'], {
      secretName: 'dapr-guard-ca',
    });
  });

  it('issues the serving certificate into dapr-guard-tls for the Service DNS names', () => {
    const spec = findOne(objects, 'Certificate', 'dapr-guard-serving')['spec'] as Record<string, unknown>;
    assert.equal(spec['secretName'], 'dapr-guard-tls');
    assert.deepEqual(spec['dnsNames'], SERVICE_DNS_NAMES);
    assert.deepEqual(spec['issuerRef'], { name: 'dapr-guard-ca', kind: 'Issuer', group: 'cert-manager.io' });
    assert.equal(spec['duration'], '8760h');
    assert.equal(spec['renewBefore'], '720h');
  });

  it('asks for an ECDSA P-256 key with the usages an ECDSA server certificate has (no key encipherment)', () => {
    const spec = findOne(objects, 'Certificate', 'dapr-guard-serving')['spec'] as Record<string, unknown>;
    assert.deepEqual(spec['usages'], ['server auth', 'digital signature']);
    assert.deepEqual(spec['privateKey'], { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
  });

  it('has cainjector fill the caBundle of both configurations, and renders no Secret', () => {
    assert.deepEqual(injectAnnotations(objects), [
      `${NAMESPACE}/dapr-guard-serving`,
      `${NAMESPACE}/dapr-guard-serving`,
    ]);
    for (const webhook of allWebhooks(objects)) assert.equal(webhook.clientConfig.caBundle, undefined, webhook.name);
    assert.equal(findAll(objects, 'Secret').length, 0);
    assert.equal(tlsVolume(objects).secret?.secretName, 'dapr-guard-tls');
  });

  it('uses a given issuerRef instead of the chart-made CA', () => {
    const issuerRef = { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' };
    const custom = helmTemplate({ values: { tls: { mode: 'certManager', certManager: { issuerRef } } } });
    assert.equal(findAll(custom, 'Issuer').length, 0);
    assert.deepEqual(
      findAll(custom, 'Certificate').map((certificate) => certificate.metadata?.name),
      ['dapr-guard-serving'],
    );
    assert.deepEqual((findOne(custom, 'Certificate')['spec'] as Record<string, unknown>)['issuerRef'], issuerRef);
  });

  it('refuses an issuerRef without a name at render time (cert-manager would refuse the Certificate)', () => {
    const cases = [{ kind: 'ClusterIssuer' }, { group: 'cert-manager.io', kind: 'Issuer' }]; // toJson sorts the keys
    assert.equal(cases.length, 2);
    for (const issuerRef of cases) {
      const result = helmTemplateResult({ values: { tls: { mode: 'certManager', certManager: { issuerRef } } } });
      assert.equal(result.ok, false, JSON.stringify(issuerRef));
      assert.equal(
        result.stderr.split('\n')[0],
        `Error: execution error at (dapr-guard/templates/deployment.yaml:1:4): tls.certManager.issuerRef needs a name (got ${JSON.stringify(issuerRef)}): cert-manager refuses a Certificate whose issuerRef has none; leave issuerRef empty for the chart's own CA`,
      );
    }
  });
});

describe('TLS choice 3: an existing Secret plus its CA', () => {
  const objects = helmTemplate({ values: TLS_CHOICES.existingSecret });

  it('mounts that Secret and puts its CA in every caBundle; renders no Secret or cert-manager object', () => {
    assert.equal(tlsVolume(objects).secret?.secretName, 'my-webhook-tls');
    assert.equal(caBundle(objects), FAKE_CA_PEM);
    assert.equal(findAll(objects, 'Secret').length, 0);
    assert.equal(findAll(objects, 'Certificate').length, 0);
    assert.deepEqual(injectAnnotations(objects), [undefined, undefined]);
  });

  it('requires the Secret name and the CA in the schema, so helm lint fails too, naming the key', () => {
    const noName = { tls: { mode: 'existingSecret', existingSecret: { caBundle: FAKE_CA_PEM } } };
    const noCa = { tls: { mode: 'existingSecret', existingSecret: { name: 'x' } } };
    const cases = [
      [noName, /tls\.existingSecret\.name: String length must be greater than or equal to 1/],
      [noCa, /tls\.existingSecret\.caBundle: String length must be greater than or equal to 1/],
    ] as const;
    for (const [values, message] of cases) {
      for (const result of [helmTemplateResult({ values }), helmLint({ values })]) {
        assert.equal(result.ok, false);
        assert.match(result.stderr + result.stdout, message);
      }
    }
  });
});

describe('TLS choice 4: self-managed by the server', () => {
  const objects = helmTemplate({ values: TLS_CHOICES.selfManaged });

  it('renders only the empty Secret the server fills, no Secret volume, no caBundle and no cainjector annotation', () => {
    assert.deepEqual(
      findAll(objects, 'Secret').map((secret) => [secret.metadata?.name, secret['data']]),
      [['dapr-guard-server-tls', undefined]],
    );
    const volume = tlsVolume(objects);
    assert.equal(volume.secret, undefined);
    assert.deepEqual(volume.emptyDir, { medium: 'Memory', sizeLimit: '1Mi' });
    assert.equal(containerOf(objects).volumeMounts?.find((mount) => mount.name === 'tls')?.readOnly, false);
    for (const webhook of allWebhooks(objects)) assert.equal(webhook.clientConfig.caBundle, undefined, webhook.name);
    assert.deepEqual(injectAnnotations(objects), [undefined, undefined]);
  });

  it('tells the server its Secret and both webhook configurations', () => {
    assert.deepEqual(serverTlsConfig(objects)['selfManaged'], {
      enabled: true,
      secretName: 'dapr-guard-server-tls',
      secretNamespace: NAMESPACE,
      mutatingWebhookConfiguration: 'dapr-guard',
      validatingWebhookConfiguration: 'dapr-guard',
      validityDays: 365,
      renewBeforeDays: 30,
      checkIntervalSeconds: 60,
    });
  });

  it('restarts the pods when the webhook configurations change, so new entries get the caBundle', () => {
    const annotations = deploymentOf(objects).spec.template.metadata.annotations ?? {};
    assert.match(annotations['checksum/webhooks'] ?? '', /^[0-9a-f]{64}$/);
    const changed = helmTemplate({
      values: { tls: { mode: 'selfManaged' }, webhooks: { workloads: { timeoutSeconds: 9 } } },
    });
    assert.notEqual(
      deploymentOf(changed).spec.template.metadata.annotations?.['checksum/webhooks'],
      annotations['checksum/webhooks'],
    );
  });

  it('takes the Secret name and validity from values and refuses renewBeforeDays >= validityDays', () => {
    const custom = helmTemplate({
      values: {
        tls: { mode: 'selfManaged', selfManaged: { secretName: 'guard-pki', validityDays: 90, renewBeforeDays: 10 } },
      },
    });
    assert.deepEqual(
      [serverTlsConfig(custom)['selfManaged']].map((s) => [
        (s as Record<string, unknown>)['secretName'],
        (s as Record<string, unknown>)['validityDays'],
        (s as Record<string, unknown>)['renewBeforeDays'],
      ]),
      [['guard-pki', 90, 10]],
    );
    const bad = helmTemplateResult({
      values: { tls: { mode: 'selfManaged', selfManaged: { validityDays: 30, renewBeforeDays: 30 } } },
    });
    assert.equal(bad.ok, false);
    assert.match(bad.stderr, /renewBeforeDays must be less than tls\.selfManaged\.validityDays/);
  });

  it('probes on the plain metrics port, which answers while the HTTPS port waits for the certificate Secret', () => {
    const container = containerOf(objects);
    assert.deepEqual(
      [container.livenessProbe?.httpGet, container.readinessProbe?.httpGet],
      [
        { path: '/healthz', port: 'metrics', scheme: 'HTTP' },
        { path: '/readyz', port: 'metrics', scheme: 'HTTP' },
      ],
    );
    const withoutMetrics = helmTemplateResult({
      values: { tls: { mode: 'selfManaged' }, metrics: { enabled: false } },
    });
    assert.equal(withoutMetrics.ok, false);
    assert.match(
      withoutMetrics.stderr,
      /tls\.mode selfManaged needs metrics\.enabled: the HTTPS port has no certificate until the Secret is readable/,
    );
  });
});

describe('tls.clientCA: the API server authenticates with a client certificate', () => {
  const CLIENT_CA_DIR = '/var/run/dapr-guard/client-ca';
  const objects = helmTemplate({ values: { tls: { clientCA: FAKE_CA_PEM } } });
  const probes = (rendered: readonly KubeObject[]): unknown[] => {
    const container = containerOf(rendered);
    return [container.livenessProbe?.httpGet, container.readinessProbe?.httpGet];
  };

  it('puts the CA in the ConfigMap dapr-guard-client-ca, mounted read-only where tls.clientCAFile points', () => {
    assert.deepEqual(findOne(objects, 'ConfigMap', 'dapr-guard-client-ca')['data'], { 'ca.crt': FAKE_CA_PEM });
    const volume = deploymentOf(objects).spec.template.spec.volumes?.find(
      (candidate) => candidate.name === 'client-ca',
    );
    assert.deepEqual(volume, { name: 'client-ca', configMap: { name: 'dapr-guard-client-ca' } });
    assert.deepEqual(
      containerOf(objects).volumeMounts?.find((mount) => mount.name === 'client-ca'),
      { name: 'client-ca', mountPath: CLIENT_CA_DIR, readOnly: true },
    );
    assert.equal(serverTlsConfig(objects)['clientCAFile'], `${CLIENT_CA_DIR}/ca.crt`);
  });

  it('moves both probes to the plain-HTTP metrics port, which needs no client certificate', () => {
    assert.deepEqual(probes(objects), [
      { path: '/healthz', port: 'metrics', scheme: 'HTTP' },
      { path: '/readyz', port: 'metrics', scheme: 'HTTP' },
    ]);
  });

  it('without it: no ConfigMap, volume or clientCAFile, and the probes stay on HTTPS', () => {
    const plain = helmTemplate();
    assert.equal(findAll(plain, 'ConfigMap').filter((map) => map.metadata?.name === 'dapr-guard-client-ca').length, 0);
    assert.equal(
      deploymentOf(plain).spec.template.spec.volumes?.some((volume) => volume.name === 'client-ca'),
      false,
    );
    assert.equal(serverTlsConfig(plain)['clientCAFile'], undefined);
    assert.deepEqual(probes(plain), [
      { path: '/healthz', port: 'https', scheme: 'HTTPS' },
      { path: '/readyz', port: 'https', scheme: 'HTTPS' },
    ]);
  });

  it('works with every TLS choice', () => {
    const choices = Object.entries(TLS_CHOICES);
    assert.equal(choices.length, 4);
    for (const [choice, values] of choices) {
      const rendered = helmTemplate({
        values: { ...values, tls: { ...(values as { tls?: object }).tls, clientCA: FAKE_CA_PEM } },
      });
      assert.equal(serverTlsConfig(rendered)['clientCAFile'], `${CLIENT_CA_DIR}/ca.crt`, choice);
      assert.deepEqual(probes(rendered)[1], { path: '/readyz', port: 'metrics', scheme: 'HTTP' }, choice);
    }
  });

  it('restarts the pods when the CA changes', () => {
    const checksum = deploymentOf(objects).spec.template.metadata.annotations?.['checksum/client-ca'] ?? '';
    assert.match(checksum, /^[0-9a-f]{64}$/);
    const other = helmTemplate({ values: { tls: { clientCA: FAKE_CA_PEM.replace('fakefakefake', 'otherfake') } } });
    assert.notEqual(deploymentOf(other).spec.template.metadata.annotations?.['checksum/client-ca'], checksum);
    assert.equal(deploymentOf(helmTemplate()).spec.template.metadata.annotations?.['checksum/client-ca'], undefined);
  });

  it('refuses to render without metrics.enabled, since the probes need the metrics port', () => {
    const result = helmTemplateResult({ values: { tls: { clientCA: FAKE_CA_PEM }, metrics: { enabled: false } } });
    assert.equal(result.ok, false);
    assert.match(
      result.stderr,
      /tls\.clientCA needs metrics\.enabled: the HTTPS port then requires client certificates, so the kubelet probes \/healthz and \/readyz on the plain metrics port/,
    );
  });

  it('refuses a value that is not a PEM certificate', () => {
    const result = helmTemplateResult({ values: { tls: { clientCA: 'not a certificate' } } });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /tls\.clientCA: Does not match pattern/);
  });
});
