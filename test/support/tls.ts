import { writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { generateServingBundle, type CertificatePair, type ServingBundle } from '../../src/tls/generate.ts';

/** A new CA and a serving pair for localhost / 127.0.0.1, as a renewal with a new CA produces. */
export function renewedLocalhostBundle(): ServingBundle {
  return generateServingBundle({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 2,
  });
}

/** Writes `pair` over the server's certificate files, key first. */
export function writeServingPair(
  files: { readonly certFile: string; readonly keyFile: string },
  pair: CertificatePair,
): void {
  writeFileSync(files.keyFile, pair.keyPem);
  writeFileSync(files.certFile, pair.certPem);
}

/** The serial number of the certificate the server at `port` presents to a new connection. */
export function peerCertificateSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}
