import { NAMESPACE_MODE_LABEL } from '../admission/mode.ts';
import type { AdmissionRequest, KubeObject } from '../admission/wire.ts';
import { isAllowedUser } from './exemption-access.ts';

/** Any value: every webhook entry's namespaceSelector leaves the namespace out. */
export const NAMESPACE_IGNORE_LABEL = 'dapr-guard.io/ignore';
export { NAMESPACE_MODE_LABEL };
/** The labels that switch rules off or down for a whole namespace. */
export const GUARDED_NAMESPACE_LABELS = [NAMESPACE_IGNORE_LABEL, NAMESPACE_MODE_LABEL] as const;

/** The id in the guard's messages, metrics and audit annotations. */
export const NAMESPACE_LABELS_ID = 'namespace-labels';

export function isNamespaceRequest(request: AdmissionRequest): boolean {
  return request.kind.group === '' && request.kind.kind === 'Namespace';
}

/**
 * One message per guarded label that this CREATE or UPDATE of a Namespace adds, changes or removes,
 * unless the user is in `exemptions.allowedGroups`: whoever may edit a Namespace (a namespace-scoped
 * RoleBinding can grant that) must not be able to switch the rules off for it.
 */
export function namespaceLabelFindings(request: AdmissionRequest, allowedGroups: readonly string[]): string[] {
  if (isAllowedUser(request.userInfo, allowedGroups)) return [];
  const oldObject = request.operation === 'UPDATE' ? request.oldObject : undefined;
  return GUARDED_NAMESPACE_LABELS.flatMap((label) => {
    const change = changeOf(labelOf(oldObject, label), labelOf(request.object, label));
    if (change === undefined) return [];
    return [
      `${change} the ${label} label of a Namespace is reserved to cluster operators (exemptions.allowedGroups) — undo the change, or ask a cluster operator to make it`,
    ];
  });
}

function changeOf(before: unknown, after: unknown): 'adding' | 'changing' | 'removing' | undefined {
  if (before === after) return undefined;
  if (before === undefined) return 'adding';
  return after === undefined ? 'removing' : 'changing';
}

function labelOf(object: KubeObject | undefined, label: string): unknown {
  const labels: unknown = object?.metadata?.labels;
  return typeof labels === 'object' && labels !== null
    ? (labels as Readonly<Record<string, unknown>>)[label]
    : undefined;
}
