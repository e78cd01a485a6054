/** What the listener serves: the certificate pair and, with client authentication, the CA that signs clients. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** PEM of the CA whose client certificates are accepted (tls.clientCAFile); absent: no client authentication. */
  readonly clientCa?: Buffer;
}

/**
 * Forward-secret AEAD suites only: the TLS 1.3 suites and ECDHE with GCM or ChaCha20 for TLS 1.2 (the
 * API server's Go crypto/tls offers these; RFC 9113 §9.2.2 forbids most others for HTTP/2).
 */
export const SERVING_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ServingTlsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly minVersion: 'TLSv1.2';
  readonly ciphers: string;
  readonly honorCipherOrder: true;
  readonly ca?: Buffer;
  readonly requestCert?: true;
  readonly rejectUnauthorized?: true;
}

/**
 * The one option object for the listener and for every reload: setSecureContext() rebuilds the context
 * from what it is given, so a cipher list or client CA missing from a reload would silently vanish.
 * requestCert/rejectUnauthorized are read only when the listener is created; a reload ignores them.
 */
export function servingTlsOptions(material: TlsMaterial): ServingTlsOptions {
  const base = {
    cert: material.cert,
    key: material.key,
    minVersion: 'TLSv1.2',
    ciphers: SERVING_CIPHERS,
    honorCipherOrder: true,
  } as const;
  if (material.clientCa === undefined) return base;
  return { ...base, ca: material.clientCa, requestCert: true, rejectUnauthorized: true };
}
