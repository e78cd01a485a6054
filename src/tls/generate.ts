import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingBundle {
  readonly ca: CertificatePair;
  readonly serving: CertificatePair;
}

export interface ServingCertificateRequest {
  /** Subject CN of the serving certificate; API servers match SANs only. */
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly validityDays: number;
  /** The start of validity, used as given. Default: CLOCK_SKEW_MS before now (backdated()). */
  readonly notBefore?: Date;
}

/** A new CA and serving certificate: issued at `issuedAt`, valid from CLOCK_SKEW_MS before it. */
export interface ServingBundleRequest extends Omit<ServingCertificateRequest, 'notBefore'> {
  /** The time of issue. Defaults to now; tests pass a fixed time. */
  readonly issuedAt?: Date;
  /**
   * The CA's validity; longer than the serving certificate's so that a renewed serving certificate keeps
   * the caBundle. Default: DEFAULT_CA_VALIDITY_DAYS, or twice the serving validity when that is longer.
   */
  readonly caValidityDays?: number;
}

const ORGANIZATION = 'dapr-guard';
/** New certificates start this long before they are issued, for clocks a little behind ours. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Ten years: the CA outlives many serving certificates, so the webhooks' caBundle rarely changes. */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;

/** The notBefore of a certificate issued at `issuedAt`: CLOCK_SKEW_MS earlier. */
export function backdated(issuedAt: Date): Date {
  return new Date(issuedAt.getTime() - CLOCK_SKEW_MS);
}

/** The DNS names a Service gets inside a cluster: svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** A new CA and a serving certificate signed by it (RSA 2048, SHA-256, random serials). */
export function generateServingBundle(request: ServingBundleRequest): ServingBundle {
  const { issuedAt, caValidityDays, ...names } = request;
  const notBefore = backdated(issuedAt ?? new Date());
  const ca = generateCertificateAuthority(
    notBefore,
    caValidityDays ?? Math.max(DEFAULT_CA_VALIDITY_DAYS, 2 * request.validityDays),
  );
  const serving = issueServingCertificate(ca, { ...names, notBefore });
  return { ca, serving };
}

export function generateCertificateAuthority(notBefore: Date, validityDays: number): CertificatePair {
  const keys = newRsaKeyPair();
  const certificate = forge.pki.createCertificate();
  const subject = [
    { name: 'commonName', value: 'dapr-guard-ca' },
    { name: 'organizationName', value: ORGANIZATION },
  ];
  certificate.publicKey = keys.publicKey;
  certificate.serialNumber = randomSerialNumber();
  setValidity(certificate, notBefore, validityDays);
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(certificate), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function issueServingCertificate(ca: CertificatePair, request: ServingCertificateRequest): CertificatePair {
  const caCertificate = forge.pki.certificateFromPem(ca.certPem);
  return issueLeaf(ca, {
    subject: [
      { name: 'commonName', value: request.commonName },
      { name: 'organizationName', value: ORGANIZATION },
    ],
    validityDays: request.validityDays,
    notBefore: request.notBefore,
    extensions: [
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: subjectAltNames(request) },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: caCertificate.generateSubjectKeyIdentifier().getBytes() },
    ],
  });
}

/** A client certificate (clientAuth) signed by `ca`, as the API server presents to a webhook with tls.clientCAFile. */
export function issueClientCertificate(
  ca: CertificatePair,
  request: { readonly commonName: string; readonly validityDays: number; readonly notBefore?: Date },
): CertificatePair {
  return issueLeaf(ca, {
    subject: [{ name: 'commonName', value: request.commonName }],
    validityDays: request.validityDays,
    notBefore: request.notBefore,
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
}

interface LeafRequest {
  readonly subject: forge.pki.CertificateField[];
  readonly validityDays: number;
  readonly notBefore: Date | undefined;
  /** After the basicConstraints (not a CA) and keyUsage that every leaf has. */
  readonly extensions: object[];
}

/** A new key pair and a certificate for it, signed by `ca`. */
function issueLeaf(ca: CertificatePair, leaf: LeafRequest): CertificatePair {
  const caCertificate = forge.pki.certificateFromPem(ca.certPem);
  const keys = newRsaKeyPair();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.publicKey;
  certificate.serialNumber = randomSerialNumber();
  setValidity(certificate, leaf.notBefore ?? backdated(new Date()), leaf.validityDays);
  certificate.setSubject(leaf.subject);
  certificate.setIssuer(caCertificate.subject.attributes);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...leaf.extensions,
  ]);
  certificate.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(certificate), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function subjectAltNames(request: ServingCertificateRequest): { type: number; value?: string; ip?: string }[] {
  const dns = [...new Set(request.dnsNames)].map((value) => ({ type: 2, value }));
  const ips = [...new Set(request.ipAddresses)].map((ip) => ({ type: 7, ip }));
  return [...dns, ...ips];
}

/** Node's native RSA generation (forge's pure-JS one takes seconds), handed to forge for signing. */
function newRsaKeyPair(): forge.pki.rsa.KeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

/** 16 random bytes with the high bit cleared, so the DER integer stays positive (RFC 5280 §4.1.2.2). */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function setValidity(certificate: forge.pki.Certificate, notBefore: Date, validityDays: number): void {
  certificate.validity.notBefore = notBefore;
  certificate.validity.notAfter = new Date(notBefore.getTime() + validityDays * 24 * 60 * 60 * 1000);
}
