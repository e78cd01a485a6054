/** The listener's TLS options (src/tls/options.ts), before and after a reload, through a real HTTPS server. */
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { describe, test } from 'node:test';
import { startTestServer } from '../support/server.ts';
import { renewedLocalhostBundle, writeServingPair } from '../support/tls.ts';

function handshake(
  port: number,
  ca: Buffer,
  options: { readonly ciphers?: string; readonly version: 'TLSv1.2' | 'TLSv1.3' },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        ca,
        servername: 'localhost',
        minVersion: options.version,
        maxVersion: options.version,
        ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
      },
      () => {
        resolve(socket.getCipher().standardName);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

const REFUSED_TLS12_SUITES = [
  'AES128-SHA',
  'AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA384',
];

async function assertOnlyForwardSecretAead(port: number, ca: Buffer): Promise<void> {
  assert.equal(REFUSED_TLS12_SUITES.length, 6);
  for (const ciphers of REFUSED_TLS12_SUITES) {
    await assert.rejects(handshake(port, ca, { ciphers, version: 'TLSv1.2' }), /handshake failure|alert/, ciphers);
  }
  assert.equal(
    await handshake(port, ca, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', version: 'TLSv1.2' }),
    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  );
  assert.equal(
    await handshake(port, ca, { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', version: 'TLSv1.2' }),
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  );
  assert.equal(await handshake(port, ca, { version: 'TLSv1.3' }), 'TLS_AES_128_GCM_SHA256');
}

describe('TLS cipher suites', () => {
  test('TLS 1.2 offers only ECDHE with AEAD, before and after a certificate reload; TLS 1.3 works', async () => {
    const server = await startTestServer({ tls: { reloadIntervalSeconds: 3600 } });
    try {
      await assertOnlyForwardSecretAead(server.server.port, server.ca);
      const renewed = renewedLocalhostBundle();
      writeServingPair(server.config.tls, renewed.serving);
      assert.equal(await server.server.tls.checkNow(), true);
      await assertOnlyForwardSecretAead(server.server.port, Buffer.from(renewed.ca.certPem));
    } finally {
      await server.close();
    }
  });
});
