import { kindResourceOf } from '../../src/admission/kinds.ts';
import type { AdmissionRequest, KubeObject, Operation } from '../../src/admission/wire.ts';

export interface RequestOptions {
  readonly operation?: Operation;
  readonly namespace?: string;
  readonly oldObject?: KubeObject;
  readonly uid?: string;
  readonly dryRun?: boolean;
  readonly username?: string;
}

/** The AdmissionRequest the API server sends for `object`; kind, resource and namespace come from the object. */
export function admissionRequest(object: KubeObject, options: RequestOptions = {}): AdmissionRequest {
  const kindName = object.kind ?? 'Pod';
  const known = kindResourceOf(kindName);
  if (known === undefined) throw new Error(`test support does not know the resource of kind ${kindName}`);
  const { kind, resource } = known;
  const operation = options.operation ?? 'CREATE';
  const namespace = options.namespace ?? object.metadata?.namespace;
  return {
    uid: options.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind,
    resource: { ...resource },
    requestKind: kind,
    requestResource: { ...resource },
    ...(object.metadata?.name === undefined ? {} : { name: object.metadata.name }),
    ...(namespace === undefined ? {} : { namespace }),
    operation,
    userInfo: { username: options.username ?? 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    ...(operation === 'DELETE' ? {} : { object }),
    ...(options.oldObject === undefined ? {} : { oldObject: options.oldObject }),
    dryRun: options.dryRun ?? false,
  };
}

/** The review body as the API server posts it. */
export function admissionReviewBody(request: AdmissionRequest, apiVersion = 'admission.k8s.io/v1'): string {
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', request });
}
