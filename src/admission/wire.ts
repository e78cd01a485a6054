/**
 * The admission.k8s.io wire types, in the Kubernetes API's own words
 * (k8s.io/api/admission/v1/types.go). v1beta1 has the same shape.
 */

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

/** The API server truncates longer warnings (k8s.io/apiserver/pkg/warning): AdmissionResponse.warnings. */
export const MAX_WARNING_LENGTH = 256;

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** Information about the requesting user. */
export interface UserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** A Kubernetes object as JSON: only the fields every object has are typed. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly [field: string]: unknown;
}

export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** AdmissionRequest describes the admission.Attributes for the admission request. */
export interface AdmissionRequest {
  /** An identifier for the individual request/response. It must be copied into the response. */
  readonly uid: string;
  /** The fully-qualified type of object being submitted (for example, v1.Pod or autoscaling.v1.Scale). */
  readonly kind: GroupVersionKind;
  /** The fully-qualified resource being requested (for example, v1.pods). */
  readonly resource: GroupVersionResource;
  readonly subResource?: string;
  readonly requestKind?: GroupVersionKind;
  readonly requestResource?: GroupVersionResource;
  readonly requestSubResource?: string;
  /** The name of the object; empty on CREATE when the client relies on generateName. */
  readonly name?: string;
  /** The namespace associated with the request (if any). */
  readonly namespace?: string;
  readonly operation: Operation;
  readonly userInfo: UserInfo;
  /** The object from the incoming request (CREATE, UPDATE; the options for CONNECT). */
  readonly object?: KubeObject;
  /** The existing object. Only populated for DELETE and UPDATE requests. */
  readonly oldObject?: KubeObject;
  /** True when modifications will definitely not be persisted for this request. */
  readonly dryRun?: boolean;
  readonly options?: unknown;
}

/** metav1.Status, as used in AdmissionResponse.status. */
export interface Status {
  readonly metadata: Readonly<Record<string, never>>;
  readonly status?: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
}

export interface AdmissionResponse {
  /** Must be the value of request.uid. */
  readonly uid: string;
  readonly allowed: boolean;
  /** Extra details into why an admission request was denied; ignored when allowed is true. */
  readonly status?: Status;
  /** Base64-encoded JSON Patch (RFC 6902). */
  readonly patch?: string;
  readonly patchType?: 'JSONPatch';
  /**
   * Set by the webhook; the API server prefixes each key with the webhook name
   * (`<webhook name>/<key>`), so a key must be a bare qualified-name segment without `/`.
   */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  /** Warning messages to return to the requesting API client, 256 characters or less each. */
  readonly warnings?: readonly string[];
}

export interface AdmissionReview {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: 'AdmissionReview';
  readonly request?: AdmissionRequest;
  readonly response?: AdmissionResponse;
}
