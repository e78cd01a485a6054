/**
 * The identities of the X.509 certificates in a PEM bundle (a trust bundle's `ca.crt`), read with a
 * minimal DER walker: no crypto library, so any key type parses (Dapr 1.18 roots are Ed25519, which
 * node-forge cannot read). A certificate's identity is its subject and its public key: what a chain
 * is verified against. Re-encoding the PEM, reordering the bundle or re-issuing the same root (same
 * name and key, new validity) keeps it; a new root key does not. Bounded: the text, the number of
 * certificates and every DER length are capped before any work, and each step only moves forward.
 */

/** A trust bundle holds a root or two (about 600–2,000 characters each in PEM); far more is no trust bundle. */
export const MAX_BUNDLE_LENGTH = 64 * 1024;

/** Certificates read from one bundle. */
export const MAX_BUNDLE_CERTIFICATES = 16;

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
const BASE64 = /^[a-z0-9+/]*={0,2}$/i;
const WHITESPACE = /\s+/g;

const SEQUENCE = 0x30;
const EXPLICIT_VERSION = 0xa0;

export type BundleProblem = 'too-large' | 'too-many' | 'no-certificate' | 'not-a-certificate';

export type BundleIdentities =
  | { readonly ok: true; readonly identities: readonly string[] }
  | { readonly ok: false; readonly problem: BundleProblem };

/** The identities (subject and public key, hex) of the certificates of a PEM bundle, in order. */
export function certificateIdentities(pem: string): BundleIdentities {
  if (pem.length > MAX_BUNDLE_LENGTH) return { ok: false, problem: 'too-large' };
  const blocks = pemBlocks(pem);
  if (typeof blocks === 'string') return { ok: false, problem: blocks };
  if (blocks.length === 0) return { ok: false, problem: 'no-certificate' };
  const identities: string[] = [];
  for (const block of blocks) {
    const identity = identityOf(block);
    if (identity === undefined) return { ok: false, problem: 'not-a-certificate' };
    identities.push(identity);
  }
  return { ok: true, identities };
}

/** The DER of each CERTIFICATE block; other PEM blocks and text between blocks are skipped, as OpenSSL does. */
function pemBlocks(pem: string): Uint8Array[] | BundleProblem {
  const blocks: Uint8Array[] = [];
  for (let begin = pem.indexOf(BEGIN); begin !== -1; begin = pem.indexOf(BEGIN, begin)) {
    const end = pem.indexOf(END, begin + BEGIN.length);
    if (end === -1) return 'not-a-certificate';
    if (blocks.length === MAX_BUNDLE_CERTIFICATES) return 'too-many';
    const body = pem.slice(begin + BEGIN.length, end).replace(WHITESPACE, '');
    if (!BASE64.test(body) || body.length % 4 !== 0) return 'not-a-certificate';
    blocks.push(Buffer.from(body, 'base64'));
    begin = end + END.length;
  }
  return blocks;
}

interface Element {
  readonly tag: number;
  /** Where the element starts (its tag) and where its content starts and ends. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** The DER element at `offset` inside `[offset, limit)`, or undefined when it does not fit or is not DER. */
function elementAt(der: Uint8Array, offset: number, limit: number): Element | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset] ?? 0;
  // Multi-byte tags do not occur in the certificate fields read here.
  if ((tag & 0x1f) === 0x1f) return undefined;
  const header = lengthAt(der, offset + 1, limit);
  if (header === undefined) return undefined;
  const end = header.contentStart + header.length;
  return end > limit ? undefined : { tag, start: offset, contentStart: header.contentStart, end };
}

/** The length octets at `offset`: short form, or long form of 1–3 bytes (0 is BER's indefinite length). */
function lengthAt(
  der: Uint8Array,
  offset: number,
  limit: number,
): { length: number; contentStart: number } | undefined {
  const first = der[offset] ?? 0;
  if ((first & 0x80) === 0) return { length: first, contentStart: offset + 1 };
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 3 || offset + 1 + bytes > limit) return undefined;
  let length = 0;
  for (let index = 1; index <= bytes; index += 1) length = length * 256 + (der[offset + index] ?? 0);
  return { length, contentStart: offset + 1 + bytes };
}

/** The children of a constructed element, in order. */
function children(der: Uint8Array, parent: Element): Element[] | undefined {
  const found: Element[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = elementAt(der, offset, parent.end);
    if (child === undefined) return undefined;
    found.push(child);
    offset = child.end;
  }
  return found;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
 * issuer, validity, subject, subjectPublicKeyInfo, … }, signatureAlgorithm, signature } (RFC 5280 §4.1).
 */
function identityOf(der: Uint8Array): string | undefined {
  const fields = tbsFields(der);
  const rest = fields?.[0]?.tag === EXPLICIT_VERSION ? fields.slice(1) : fields;
  const subject = rest?.[4];
  const publicKey = rest?.[5];
  if (subject?.tag !== SEQUENCE || publicKey?.tag !== SEQUENCE) return undefined;
  return `${hex(der, subject)}/${hex(der, publicKey)}`;
}

/** The fields of tbsCertificate, when `der` is one whole SEQUENCE starting with a SEQUENCE. */
function tbsFields(der: Uint8Array): Element[] | undefined {
  const certificate = elementAt(der, 0, der.length);
  if (certificate?.tag !== SEQUENCE || certificate.end !== der.length) return undefined;
  const tbs = children(der, certificate)?.[0];
  return tbs?.tag === SEQUENCE ? children(der, tbs) : undefined;
}

function hex(der: Uint8Array, element: Element): string {
  return Buffer.from(der.subarray(element.start, element.end)).toString('hex');
}
