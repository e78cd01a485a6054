import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { buildConfig, type Config } from '../../src/config/config.ts';
import { RULE_IDS } from '../../src/rules/index.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import type { CaBundlePublisher, CertificateStore } from '../../src/tls/acquire.ts';
import type { StoredCertificates } from '../../src/tls/rotation.ts';
import { fileServingTls, selfManagedServingTls } from '../../src/tls/serving.ts';

const DAY = 24 * 60 * 60 * 1000;
const silent = pino({ level: 'silent' });
const config = buildConfig(
  [
    {
      tls: {
        serviceName: 'dapr-guard',
        serviceNamespace: 'guard',
        selfManaged: { enabled: true, validityDays: 90, renewBeforeDays: 30 },
      },
    },
  ],
  RULE_IDS,
);

/** An in-memory Secret with the API server's optimistic concurrency. */
function memoryStore(): CertificateStore & { writes: number; value: () => StoredCertificates | undefined } {
  let stored: StoredCertificates | undefined;
  let version = 0;
  let writes = 0;
  return {
    read: async () => (stored === undefined ? undefined : { certificates: stored, resourceVersion: String(version) }),
    create: async (certificates) => {
      if (stored !== undefined) return false;
      stored = certificates;
      version += 1;
      writes += 1;
      return true;
    },
    replace: async (certificates, resourceVersion) => {
      if (resourceVersion !== String(version)) return false;
      stored = certificates;
      version += 1;
      writes += 1;
      return true;
    },
    get writes() {
      return writes;
    },
    value: () => stored,
  };
}

function recordingPublisher(): CaBundlePublisher & { bundles: string[] } {
  const bundles: string[] = [];
  return { bundles, publish: async (bundle) => (bundles.push(bundle), 1) };
}

const noServer = { setSecureContext: (): void => undefined };

describe('self-managed TLS', () => {
  test('replicas share one Secret: the first creates it, the others read it', async () => {
    const store = memoryStore();
    const replicas = await Promise.all(
      [1, 2, 3].map(() =>
        selfManagedServingTls(config.tls, silent, createMetrics({ defaultMetrics: false }), {
          store,
          publisher: recordingPublisher(),
          checkIntervalMs: 60_000,
        }),
      ),
    );
    assert.equal(store.writes, 1);
    const serials = new Set(replicas.map((replica) => new X509Certificate(replica.initial.cert).serialNumber));
    assert.equal(serials.size, 1);
    const serving = new X509Certificate(replicas[0]?.initial.cert ?? '');
    assert.match(serving.subjectAltName ?? '', /DNS:dapr-guard\.guard\.svc\.cluster\.local/);
  });

  test('not ready until the CA bundle is published into the webhook configurations', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const bundles: string[] = [];
    const publisher: CaBundlePublisher = { publish: async (bundle) => (await gate, bundles.push(bundle), 2) };
    const store = memoryStore();
    const tls = await selfManagedServingTls(config.tls, silent, createMetrics({ defaultMetrics: false }), {
      store,
      publisher,
      checkIntervalMs: 60_000,
    });
    tls.start(noServer);
    assert.deepEqual(tls.readiness(), {
      ready: false,
      reason: 'the CA bundle is not yet published into the webhook configurations',
    });
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(tls.readiness(), { ready: true });
    assert.deepEqual(bundles, [store.value()?.ca.certPem]);
    tls.stop();
  });

  test('a certificate inside the renewal window is renewed and installed without a restart', async () => {
    let now = new Date('2026-11-27T00:00:00Z');
    const store = memoryStore();
    const installed: Buffer[] = [];
    const tls = await selfManagedServingTls(config.tls, silent, createMetrics({ defaultMetrics: false }), {
      store,
      publisher: recordingPublisher(),
      now: () => now,
      checkIntervalMs: 60_000,
    });
    tls.start({ setSecureContext: (options) => void installed.push(options.cert) });
    assert.equal(await tls.checkNow(), false);
    now = new Date(now.getTime() + 70 * DAY);
    assert.equal(await tls.checkNow(), true);
    assert.equal(installed.length, 1);
    assert.equal(installed[0]?.toString(), store.value()?.serving.certPem);
    assert.equal(store.writes, 2);
    tls.stop();
  });

  test('a renewal written by another replica is picked up', async () => {
    const store = memoryStore();
    const metrics = createMetrics({ defaultMetrics: false });
    const first = await selfManagedServingTls(config.tls, silent, metrics, {
      store,
      publisher: recordingPublisher(),
      checkIntervalMs: 60_000,
    });
    const installed: string[] = [];
    first.start({ setSecureContext: (options) => void installed.push(options.cert.toString()) });
    const later = new Date(Date.now() + 70 * DAY);
    const second = await selfManagedServingTls(config.tls, silent, metrics, {
      store,
      publisher: recordingPublisher(),
      now: () => later,
      checkIntervalMs: 60_000,
    });
    assert.notEqual(second.initial.cert.toString(), first.initial.cert.toString());
    assert.equal(await first.checkNow(), true);
    assert.deepEqual(installed, [second.initial.cert.toString()]);
    first.stop();
  });
});

describe('certificate files', () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const filesIn = (dir: string): Config['tls'] => ({
    ...config.tls,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
  });

  test('with only the certificate present, nothing is generated and the missing key is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-onefile-'));
    writeFileSync(join(dir, 'tls.crt'), 'the user certificate');
    const settings = filesIn(dir);
    assert.throws(() => fileServingTls(settings, silent, metrics), {
      name: 'TlsFilesError',
      message: `tls.keyFile (${dir}/tls.key) does not exist, but tls.certFile (${dir}/tls.crt) does; nothing was generated, so that an existing file is not overwritten — set tls.keyFile / --tls-key / DAPR_GUARD_TLS_KEY to the key of that pair`,
    });
    assert.equal(readFileSync(join(dir, 'tls.crt'), 'utf8'), 'the user certificate');
    assert.deepEqual(readdirSync(dir), ['tls.crt']);
  });

  test('with only the key present, the missing certificate is named and the key kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-onefile-'));
    writeFileSync(join(dir, 'tls.key'), 'the user key');
    assert.throws(() => fileServingTls(filesIn(dir), silent, metrics), {
      message: `tls.certFile (${dir}/tls.crt) does not exist, but tls.keyFile (${dir}/tls.key) does; nothing was generated, so that an existing file is not overwritten — set tls.certFile / --tls-cert / DAPR_GUARD_TLS_CERT to the certificate of that pair`,
    });
    assert.equal(readFileSync(join(dir, 'tls.key'), 'utf8'), 'the user key');
  });

  test('an existing CA is not replaced by generation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-onefile-'));
    writeFileSync(join(dir, 'ca.crt'), 'the user CA');
    assert.throws(() => fileServingTls(filesIn(dir), silent, metrics), {
      message: `tls.caFile (${dir}/ca.crt) exists but the serving certificate and key do not; refusing to replace the CA — provide tls.crt and tls.key signed by it, or move the CA away to generate a new one`,
    });
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), 'the user CA');
  });

  test('with all three absent, a pair is generated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dapr-guard-onefile-'));
    fileServingTls(filesIn(dir), silent, metrics).stop();
    assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  });

  test('files that are not PEM, or a key of another pair, are named with their setting', () => {
    const one = mkdtempSync(join(tmpdir(), 'dapr-guard-pem-'));
    const other = mkdtempSync(join(tmpdir(), 'dapr-guard-pem-'));
    fileServingTls(filesIn(one), silent, metrics).stop();
    fileServingTls(filesIn(other), silent, metrics).stop();
    const mismatched = { ...filesIn(one), keyFile: join(other, 'tls.key') };
    assert.throws(() => fileServingTls(mismatched, silent, metrics), {
      name: 'TlsFilesError',
      message: `tls.keyFile (${other}/tls.key) does not match tls.certFile (${one}/tls.crt) — the key is not the private key of the certificate; give both files of the same pair`,
    });
    writeFileSync(join(other, 'tls.crt'), 'garbage');
    assert.throws(() => fileServingTls(filesIn(other), silent, metrics), {
      message: `tls.certFile (${other}/tls.crt) is not a PEM certificate — it must hold a "-----BEGIN CERTIFICATE-----" block (tls.crt of a Secret or of npm run certs)`,
    });
    writeFileSync(join(one, 'tls.key'), 'garbage');
    assert.throws(() => fileServingTls(filesIn(one), silent, metrics), {
      message: `tls.keyFile (${one}/tls.key) is not a PEM private key — it must hold an unencrypted "-----BEGIN PRIVATE KEY-----" (or RSA/EC PRIVATE KEY) block`,
    });
  });
});
