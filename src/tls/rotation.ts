import { X509Certificate, createPrivateKey } from 'node:crypto';
import { backdated, generateCertificateAuthority, issueServingCertificate, type CertificatePair } from './generate.ts';

/** What the self-managed Secret holds: the CA (with its key, to renew), the serving pair, and the CA it replaced. */
export interface StoredCertificates {
  readonly ca: CertificatePair;
  readonly serving: CertificatePair;
  /** Kept in the caBundle for one serving period after a CA rotation, so replicas still serving the old chain stay trusted. */
  readonly previousCaCertPem?: string;
}

export interface RotationPolicy {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly servingValidityDays: number;
  readonly renewBeforeDays: number;
}

export type RotationPlan =
  | { readonly action: 'keep'; readonly reason: string }
  | { readonly action: 'issue-serving'; readonly reason: string }
  | { readonly action: 'new-ca'; readonly reason: string };

const DAY_MS = 24 * 60 * 60 * 1000;
/** The CA outlives many serving certificates, so a renewal never has to change the webhooks' caBundle. */
export const CA_VALIDITY_DAYS = 3650;

/** Decides whether stored certificates can stay, need a new serving certificate, or a new CA. Pure. */
export function planRotation(stored: StoredCertificates | undefined, policy: RotationPolicy, now: Date): RotationPlan {
  if (stored === undefined) return { action: 'new-ca', reason: 'no certificates stored yet' };
  const problem = unusableReason(stored);
  if (problem !== undefined) return { action: 'new-ca', reason: problem };
  const ca = new X509Certificate(stored.ca.certPem);
  const serving = new X509Certificate(stored.serving.certPem);
  const renewBy = now.getTime() + policy.renewBeforeDays * DAY_MS;
  if (new Date(ca.validTo).getTime() < renewBy + policy.servingValidityDays * DAY_MS) {
    return { action: 'new-ca', reason: `the CA expires on ${new Date(ca.validTo).toISOString()}` };
  }
  if (!serving.checkIssued(ca) || !serving.verify(ca.publicKey))
    return { action: 'issue-serving', reason: 'the serving certificate is not signed by the stored CA' };
  if (new Date(serving.validTo).getTime() < renewBy) {
    return {
      action: 'issue-serving',
      reason: `the serving certificate expires on ${new Date(serving.validTo).toISOString()}`,
    };
  }
  const missing = missingNames(serving, policy);
  if (missing.length > 0)
    return { action: 'issue-serving', reason: `the serving certificate does not cover ${missing.join(', ')}` };
  return { action: 'keep', reason: `valid until ${new Date(serving.validTo).toISOString()}` };
}

/** Carries out a plan: new material where needed, the rest as stored. */
export function applyRotation(
  stored: StoredCertificates | undefined,
  plan: RotationPlan,
  policy: RotationPolicy,
  now: Date,
): StoredCertificates {
  if (plan.action === 'keep' && stored !== undefined) return withoutExpiredPrevious(stored, now);
  const notBefore = backdated(now);
  const request = { ...policy, validityDays: policy.servingValidityDays, notBefore };
  if (plan.action === 'issue-serving' && stored !== undefined) {
    return withoutExpiredPrevious({ ...stored, serving: issueServingCertificate(stored.ca, request) }, now);
  }
  const ca = generateCertificateAuthority(notBefore, CA_VALIDITY_DAYS);
  const previous = stored === undefined || unusableReason(stored) !== undefined ? undefined : stored.ca.certPem;
  return {
    ca,
    serving: issueServingCertificate(ca, request),
    ...(previous === undefined ? {} : { previousCaCertPem: previous }),
  };
}

/** The PEM the webhook configurations must trust: the current CA, and the previous one while it may still be in use. */
export function caBundleOf(stored: StoredCertificates): string {
  return stored.previousCaCertPem === undefined
    ? stored.ca.certPem
    : `${stored.ca.certPem.trimEnd()}\n${stored.previousCaCertPem}`;
}

function withoutExpiredPrevious(stored: StoredCertificates, now: Date): StoredCertificates {
  if (stored.previousCaCertPem === undefined) return stored;
  const stillNeeded = parseOrUndefined(
    stored.previousCaCertPem,
    (previous) => new Date(previous.validTo).getTime() > now.getTime(),
  );
  if (stillNeeded === true) return stored;
  const { previousCaCertPem: _dropped, ...rest } = stored;
  return rest;
}

function unusableReason(stored: StoredCertificates): string | undefined {
  try {
    const ca = new X509Certificate(stored.ca.certPem);
    if (!ca.ca) return 'the stored CA certificate is not a CA';
    if (!ca.checkPrivateKey(createPrivateKey(stored.ca.keyPem)))
      return 'the stored CA key does not match its certificate';
    const serving = new X509Certificate(stored.serving.certPem);
    if (!serving.checkPrivateKey(createPrivateKey(stored.serving.keyPem)))
      return 'the stored serving key does not match its certificate';
    return undefined;
  } catch {
    return 'the stored certificates cannot be parsed';
  }
}

function missingNames(serving: X509Certificate, policy: RotationPolicy): string[] {
  return [
    ...policy.dnsNames.filter((name) => serving.checkHost(name, { wildcards: false, subject: 'never' }) === undefined),
    ...policy.ipAddresses.filter((ip) => serving.checkIP(ip) === undefined),
  ];
}

function parseOrUndefined<T>(pem: string, read: (certificate: X509Certificate) => T): T | undefined {
  try {
    return read(new X509Certificate(pem));
  } catch {
    return undefined;
  }
}
