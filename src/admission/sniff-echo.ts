import { ADMISSION_API_VERSIONS, type AdmissionApiVersion } from './wire.ts';

/** What a reply must echo: the request's uid and the AdmissionReview apiVersion it came in. */
export interface ReviewEcho {
  readonly uid: string;
  readonly apiVersion: AdmissionApiVersion;
}

export const DEFAULT_API_VERSION: AdmissionApiVersion = 'admission.k8s.io/v1';

/**
 * Only the start of a body is looked at: the API server marshals `kind`, `apiVersion`, then
 * `request.uid` first, so both are in the first ~200 bytes. The bound also keeps the regexes linear
 * in practice: at most 4 KiB per body, whatever its size.
 */
export const SNIFF_BYTES = 4096;

// uid as the first key of `request`, as the API server writes it; no escapes, no control characters.
// eslint-disable-next-line no-control-regex -- control characters are what the class excludes
const REQUEST_UID = /"request"\s*:\s*\{\s*"uid"\s*:\s*"([^"\\\u0000-\u001f]{1,256})"/;
// Only the envelope carries an admission.k8s.io apiVersion; the objects under review carry their own.
const ENVELOPE_API_VERSION = /"apiVersion"\s*:\s*"admission\.k8s\.io\/(v1beta1|v1)"/;

/**
 * The uid and apiVersion read from the first bytes of a body that could not be (or was not) fully
 * parsed: too large, not JSON, refused, timed out. Empty uid and v1 when they cannot be found.
 */
export function sniffEcho(body: Uint8Array | undefined): ReviewEcho {
  if (body === undefined || body.byteLength === 0) return { uid: '', apiVersion: DEFAULT_API_VERSION };
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, SNIFF_BYTES)).toString('utf8');
  const version = ENVELOPE_API_VERSION.exec(head)?.[1];
  return {
    uid: REQUEST_UID.exec(head)?.[1] ?? '',
    apiVersion: version === undefined ? DEFAULT_API_VERSION : asApiVersion(`admission.k8s.io/${version}`),
  };
}

function asApiVersion(value: string): AdmissionApiVersion {
  return (ADMISSION_API_VERSIONS as readonly string[]).includes(value)
    ? (value as AdmissionApiVersion)
    : DEFAULT_API_VERSION;
}
