import type { AdmissionApiVersion, AdmissionResponse, AdmissionReview } from './wire.ts';

/**
 * Named constructors for admission responses (controller-runtime's response.go is the model).
 * Every response carries the request uid; the API server rejects a response whose uid differs.
 */

export function allowed(uid: string): AdmissionResponse {
  return { uid, allowed: true };
}

/** Refuses the request with 403 Forbidden; kubectl prints the message after "denied the request:". */
export function denied(uid: string, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { metadata: {}, status: 'Failure', code: 403, reason: 'Forbidden', message },
  };
}

/** Allows the request and applies a base64-encoded JSON Patch; an empty patch is left out. */
export function patched(uid: string, base64Patch: string | undefined): AdmissionResponse {
  if (base64Patch === undefined) return allowed(uid);
  return { uid, allowed: true, patch: base64Patch, patchType: 'JSONPatch' };
}

/** The request could not be reviewed: bad input (4xx) or an internal failure (500). */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { metadata: {}, status: 'Failure', code, message } };
}

/** Appends warnings; never replaces the ones already there. */
export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  if (warnings.length === 0) return response;
  return { ...response, warnings: [...(response.warnings ?? []), ...warnings] };
}

export function withAuditAnnotations(
  response: AdmissionResponse,
  annotations: Readonly<Record<string, string>>,
): AdmissionResponse {
  if (Object.keys(annotations).length === 0) return response;
  return { ...response, auditAnnotations: { ...response.auditAnnotations, ...annotations } };
}

export function toReview(apiVersion: AdmissionApiVersion, response: AdmissionResponse): AdmissionReview {
  return { apiVersion, kind: 'AdmissionReview', response };
}
