import type { AdmissionRequest, GroupVersionKind, KubeObject, Operation } from '../../src/admission/wire.ts';

/** Group, version and resource of the kinds tests use, as the API server names them. */
const KINDS: Readonly<Record<string, { group: string; version: string; resource: string }>> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  Service: { group: '', version: 'v1', resource: 'services' },
  ConfigMap: { group: '', version: 'v1', resource: 'configmaps' },
  Secret: { group: '', version: 'v1', resource: 'secrets' },
  ServiceAccount: { group: '', version: 'v1', resource: 'serviceaccounts' },
  Namespace: { group: '', version: 'v1', resource: 'namespaces' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
  Role: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles' },
  RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' },
  ClusterRole: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' },
  ClusterRoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings' },
  PodDisruptionBudget: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets' },
  MutatingWebhookConfiguration: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations' },
  Component: { group: 'dapr.io', version: 'v1alpha1', resource: 'components' },
  Configuration: { group: 'dapr.io', version: 'v1alpha1', resource: 'configurations' },
  HTTPEndpoint: { group: 'dapr.io', version: 'v1alpha1', resource: 'httpendpoints' },
};

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
  const known = KINDS[kindName];
  if (known === undefined) throw new Error(`test support does not know the resource of kind ${kindName}`);
  const kind: GroupVersionKind = { group: known.group, version: known.version, kind: kindName };
  const operation = options.operation ?? 'CREATE';
  const namespace = options.namespace ?? object.metadata?.namespace;
  return {
    uid: options.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind,
    resource: { group: known.group, version: known.version, resource: known.resource },
    requestKind: kind,
    requestResource: { group: known.group, version: known.version, resource: known.resource },
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
