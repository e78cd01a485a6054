import { X509Certificate } from 'node:crypto';
import { checkFinding, type AuditFinding, type ObjectRef } from './model.ts';

export const TRUST_BUNDLE_EXPIRY_RULE_ID = 'trust-bundle-expiry';
export const TRUST_BUNDLE_SECRET = 'dapr-trust-bundle';
/** The Dapr CLI warns when the root certificate expires within 30 days (`dapr mtls expiry`, `dapr status`). */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;
const REMEDY = 'dapr mtls renew-certificate -k --valid-until 365 --restart';
/** A bundle of a few certificates; a Secret value larger than this is not a trust bundle. */
const MAX_PEM_LENGTH = 256 * 1024;
const MAX_CERTIFICATES = 16;

/** The two public keys of `dapr-trust-bundle` the audit reads; the issuer key is never read. */
export interface TrustBundle {
  readonly namespace: string;
  /** Base64 as stored in the Secret's `data`, or undefined when the key is missing. */
  readonly caCrt: string | undefined;
  readonly issuerCrt: string | undefined;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]{1,65536}-----END CERTIFICATE-----/g;

/** The earliest-expiring certificate of a PEM bundle, or why there is none. */
function earliestExpiry(base64: string): { notAfter: Date; subject: string } | string {
  const pem = Buffer.from(base64, 'base64').toString('utf8');
  if (pem.length > MAX_PEM_LENGTH) return `is larger than ${MAX_PEM_LENGTH} bytes`;
  const blocks = (pem.match(PEM_BLOCK) ?? []).slice(0, MAX_CERTIFICATES);
  if (blocks.length === 0) return 'holds no PEM certificate';
  let earliest: { notAfter: Date; subject: string } | undefined;
  for (const block of blocks) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch {
      return 'holds a certificate that cannot be parsed';
    }
    const notAfter = new Date(certificate.validTo);
    if (earliest === undefined || notAfter < earliest.notAfter)
      earliest = { notAfter, subject: certificate.subject.replaceAll('\n', ', ').slice(0, 200) };
  }
  return earliest ?? 'holds no PEM certificate';
}

/** Findings for the root (`ca.crt`) and issuer (`issuer.crt`) certificates at `now`. */
export function trustBundleFindings(bundle: TrustBundle, now: Date): AuditFinding[] {
  const ref: ObjectRef = { apiVersion: 'v1', kind: 'Secret', namespace: bundle.namespace, name: TRUST_BUNDLE_SECRET };
  const where = `Secret ${bundle.namespace}/${TRUST_BUNDLE_SECRET}`;
  const entries = [
    ['ca.crt', 'root', bundle.caCrt],
    ['issuer.crt', 'issuer', bundle.issuerCrt],
  ] as const;
  return entries.flatMap(([key, role, value]): AuditFinding[] => {
    if (value === undefined) return [];
    const expiry = earliestExpiry(value);
    if (typeof expiry === 'string')
      return [finding(ref, 'warning', `${key} of ${where} ${expiry} — check the trust bundle (${REMEDY})`)];
    const days = Math.floor((expiry.notAfter.getTime() - now.getTime()) / DAY_MS);
    const subject = `the ${role} certificate (${key} of ${where}, ${JSON.stringify(expiry.subject)})`;
    const date = expiry.notAfter.toISOString();
    if (expiry.notAfter <= now)
      return [finding(ref, 'error', `${subject} expired on ${date}: mTLS between sidecars fails — run ${REMEDY}`)];
    if (days < EXPIRY_WARNING_DAYS)
      return [finding(ref, 'warning', `${subject} expires in ${days} days, on ${date} — run ${REMEDY}`)];
    return [];
  });
}

function finding(ref: ObjectRef, severity: 'error' | 'warning', message: string): AuditFinding {
  return checkFinding({ ruleId: TRUST_BUNDLE_EXPIRY_RULE_ID, severity, object: ref, message, remedy: REMEDY });
}
