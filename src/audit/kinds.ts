/**
 * The kinds `dapr-guard audit` lists, in the order it lists them: Namespaces first (their mode labels
 * decide every other object's modes), owners before what they own (a Pod is resolved to its Deployment
 * through the ReplicaSets already seen), Nodes for the HA check.
 */
export interface AuditKind {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  /** The plural the API server serves the kind under. */
  readonly resource: string;
  readonly namespaced: boolean;
  /** Whether each object goes through the review core (Namespaces and Nodes are read for the audit's own checks). */
  readonly reviewed: boolean;
}

const kind = (
  name: string,
  groupVersion: string,
  resource: string,
  flags: { namespaced: boolean; reviewed: boolean },
): AuditKind => {
  const [group, version] = groupVersion.includes('/') ? groupVersion.split('/') : ['', groupVersion];
  return { kind: name, group: group ?? '', version: version ?? '', resource, ...flags };
};
const NAMESPACED = { namespaced: true, reviewed: true } as const;

export const AUDIT_KINDS: readonly AuditKind[] = [
  kind('Namespace', 'v1', 'namespaces', { namespaced: false, reviewed: false }),
  kind('Node', 'v1', 'nodes', { namespaced: false, reviewed: false }),
  kind('Deployment', 'apps/v1', 'deployments', NAMESPACED),
  kind('StatefulSet', 'apps/v1', 'statefulsets', NAMESPACED),
  kind('DaemonSet', 'apps/v1', 'daemonsets', NAMESPACED),
  kind('ReplicaSet', 'apps/v1', 'replicasets', NAMESPACED),
  kind('CronJob', 'batch/v1', 'cronjobs', NAMESPACED),
  kind('Job', 'batch/v1', 'jobs', NAMESPACED),
  kind('Pod', 'v1', 'pods', NAMESPACED),
  kind('Component', 'dapr.io/v1alpha1', 'components', NAMESPACED),
  kind('Configuration', 'dapr.io/v1alpha1', 'configurations', NAMESPACED),
  kind('HTTPEndpoint', 'dapr.io/v1alpha1', 'httpendpoints', NAMESPACED),
  kind('MCPServer', 'dapr.io/v1alpha1', 'mcpservers', NAMESPACED),
  kind('ClusterRoleBinding', 'rbac.authorization.k8s.io/v1', 'clusterrolebindings', {
    namespaced: false,
    reviewed: true,
  }),
];

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(kind: AuditKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

/** `deployments.apps`, as kubectl and RBAC name a resource. */
export function resourceNameOf(kind: AuditKind): string {
  return kind.group === '' ? kind.resource : `${kind.resource}.${kind.group}`;
}

/** The collection path: `/apis/apps/v1/namespaces/<ns>/deployments`, or cluster-wide without a namespace. */
export function collectionPathOf(kind: AuditKind, namespace: string | undefined): string {
  const base = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const scope = kind.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${scope}/${kind.resource}`;
}
