import type { GroupVersionKind, GroupVersionResource } from './wire.ts';

/**
 * Group, version and resource of the kinds dapr-guard reviews or is asked about, as the API server
 * names them: what an AdmissionRequest built from an object alone (the offline check, the audit, the
 * tests) carries in `kind` and `resource`.
 */
const KINDS: Readonly<Record<string, GroupVersionResource>> = {
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
  MutatingWebhookConfiguration: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource: 'mutatingwebhookconfigurations',
  },
  Component: { group: 'dapr.io', version: 'v1alpha1', resource: 'components' },
  Configuration: { group: 'dapr.io', version: 'v1alpha1', resource: 'configurations' },
  HTTPEndpoint: { group: 'dapr.io', version: 'v1alpha1', resource: 'httpendpoints' },
  MCPServer: { group: 'dapr.io', version: 'v1alpha1', resource: 'mcpservers' },
};

/** The kind names in the table. */
export const KNOWN_KINDS: readonly string[] = Object.keys(KINDS);

export interface KindResource {
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
}

/** The request's `kind` and `resource` for an object of this kind, or undefined for a kind not in the table. */
export function kindResourceOf(kindName: string): KindResource | undefined {
  const known = Object.hasOwn(KINDS, kindName) ? KINDS[kindName] : undefined;
  if (known === undefined) return undefined;
  return { kind: { group: known.group, version: known.version, kind: kindName }, resource: known };
}
