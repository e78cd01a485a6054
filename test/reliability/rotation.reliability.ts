/**
 * Scenario 1, certificate rotation under load: 16 connections (8 HTTP/1.1, 8 HTTP/2, each reconnecting
 * every 20 requests so that handshakes go on throughout) while the serving certificate files are renewed
 * 10 times as the kubelet swaps a mounted Secret, the fifth time with a new CA. The client trusts both
 * CAs, as the API server does with a caBundle holding the old and the new CA during a CA rotation.
 * Promise: 0 failed requests, 0 handshake errors, every renewal served and counted in
 * dapr_guard_certificate_reloads_total{result="success"}, none rejected.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { runLoad, type LoadResult, type Protocol } from '../../bench/load.ts';
import { peerCertificateSerial } from '../support/tls.ts';
import {
  LONG,
  MountedSecret,
  POD_REVIEW,
  answersReview,
  eventually,
  newLocalhostBundle,
  renewedBy,
  scrapeMetric,
  startGuard,
} from './support/guard.ts';

const DURATION_SECONDS = LONG ? 60 : 20;
const RENEWALS = 10;
/** The renewal (1-based) that brings a new CA. */
const NEW_CA_AT = 5;
const CONNECTIONS_PER_PROTOCOL = 8;
const RELOAD_INTERVAL_SECONDS = 1;
const RELOADED = 'dapr_guard_certificate_reloads_total{result="success"}';
const REJECTED = 'dapr_guard_certificate_reloads_total{result="rejected"}';

test(`certificate rotation under load: ${RENEWALS} renewals (one with a new CA) in ${DURATION_SECONDS} s at 16 connections, h1 and h2`, async (t) => {
  const first = newLocalhostBundle();
  const second = newLocalhostBundle();
  // Issued up front: RSA key generation would otherwise take the CPU from the load in the middle of it.
  const renewals = Array.from({ length: RENEWALS }, (_, index) =>
    renewedBy(index + 1 < NEW_CA_AT ? first.ca : second.ca),
  );
  const trusted = [Buffer.from(first.ca.certPem), Buffer.from(second.ca.certPem)];
  const secret = new MountedSecret(first.serving);
  const guard = await startGuard(secret, ['--tls-reload-interval-seconds', String(RELOAD_INTERVAL_SECONDS)], {
    quiet: true,
  });
  try {
    const load = (protocol: Protocol): Promise<LoadResult> =>
      runLoad({
        port: guard.port,
        path: '/mutate',
        body: POD_REVIEW,
        connections: CONNECTIONS_PER_PROTOCOL,
        durationSeconds: DURATION_SECONDS,
        protocol,
        ca: trusted,
        requestsPerConnection: 20,
        accept: answersReview,
      });
    const [h1, h2, served] = await Promise.all([load('http/1.1'), load('h2'), renewDuringLoad()]);
    for (const [name, result] of [
      ['http/1.1', h1],
      ['h2', h2],
    ] as const) {
      t.diagnostic(
        `${name}: ${result.requests} requests, ${result.failures} failed, ${result.handshakes} handshakes, ` +
          `${result.handshakeErrors} handshake errors, p99 ${result.latencyMicros.p99} µs`,
      );
      assert.deepEqual(
        { failures: result.failures, handshakeErrors: result.handshakeErrors, samples: result.failureSamples },
        { failures: 0, handshakeErrors: 0, samples: [] },
        name,
      );
      assert.ok(result.handshakes > RENEWALS * 2, `${name}: ${result.handshakes} handshakes`);
    }
    assert.deepEqual(served, renewals.map(serialOf), 'each renewal was served to new connections');
    assert.equal(await scrapeMetric(guard.metricsPort, RELOADED), RENEWALS);
    assert.equal((await scrapeMetric(guard.metricsPort, REJECTED)) ?? 0, 0);
  } finally {
    guard.child.kill('SIGTERM');
    await guard.exited;
  }

  /** Renews at even intervals; resolves with the serial a new connection saw after each renewal. */
  async function renewDuringLoad(): Promise<string[]> {
    const served: string[] = [];
    const spacingMs = (DURATION_SECONDS * 1000) / (RENEWALS + 1);
    for (const [index, pair] of renewals.entries()) {
      await new Promise((resolve) => setTimeout(resolve, spacingMs));
      secret.write(pair);
      const counted = await eventually(
        async () => (await scrapeMetric(guard.metricsPort, RELOADED)) === index + 1,
        RELOAD_INTERVAL_SECONDS * 5000,
      );
      assert.ok(counted, `renewal ${index + 1} was not counted in ${RELOADED}`);
      served.push(await peerCertificateSerial(guard.port, Buffer.concat(trusted)));
    }
    return served;
  }
});

function serialOf(pair: { readonly certPem: string }): string {
  return new X509Certificate(pair.certPem).serialNumber;
}
