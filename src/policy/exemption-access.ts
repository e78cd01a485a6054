import type { AdmissionRequest, KubeObject, UserInfo } from '../admission/wire.ts';
import { isRecord } from '../util/json.ts';

/** Who may opt objects and namespaces out of the rules: `exemptions.*` of the configuration. */
export interface ExemptionSettings {
  readonly enabled: boolean;
  /** A user in any of these groups may add, change or remove exemptions and the namespace labels. */
  readonly allowedGroups: readonly string[];
  /** The namespaces where exemptions count; empty: every namespace. */
  readonly namespaces: readonly string[];
}

/** Why an exemption found on an object may count. */
export type ExemptionOrigin = 'unchanged' | 'allowed-user' | 'controller' | 'not-allowed';

/** The two annotations that make an exemption; a change to either is a new exemption. */
export const EXEMPT_ANNOTATION = 'dapr-guard.io/exempt';
export const EXEMPT_REASON_ANNOTATION = 'dapr-guard.io/exempt-reason';

/** The kube-controller-manager's identities: its own user, or one service account per controller. */
const CONTROLLER_USER = 'system:kube-controller-manager';
const CONTROLLER_SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:kube-system:';

export function isAllowedUser(user: UserInfo | undefined, allowedGroups: readonly string[]): boolean {
  const groups: unknown = user?.groups;
  return Array.isArray(groups) && groups.some((group) => typeof group === 'string' && allowedGroups.includes(group));
}

export function exemptionCountsIn(namespace: string | undefined, settings: ExemptionSettings): boolean {
  if (settings.namespaces.length === 0) return true;
  return namespace !== undefined && settings.namespaces.includes(namespace);
}

/**
 * Where the exemption annotations under `metadataPath` (the object's `metadata`, or a pod template's)
 * came from:
 * - unchanged: an UPDATE that carries both annotations exactly as stored, whoever sends it (controllers
 *   and tenants keep exemptions an operator once set);
 * - allowed-user: the requesting user is in `exemptions.allowedGroups`;
 * - controller: a kube-controller-manager controller creating or updating an object it owns (a Pod from
 *   a ReplicaSet, a ReplicaSet from a Deployment). It copies the annotations from its owner's template,
 *   and the owner's own review refused a template exemption that no allowed user set.
 */
export function exemptionOrigin(
  request: AdmissionRequest,
  metadataPath: readonly string[],
  allowedGroups: readonly string[],
): ExemptionOrigin {
  if (request.operation === 'UPDATE' && sameExemption(request.object, request.oldObject, metadataPath))
    return 'unchanged';
  if (isAllowedUser(request.userInfo, allowedGroups)) return 'allowed-user';
  if (isController(request.userInfo) && hasControllerOwner(request.object)) return 'controller';
  return 'not-allowed';
}

/** The annotations object at `metadataPath` + `annotations`, when it is one. */
export function annotationsAt(
  object: KubeObject | undefined,
  metadataPath: readonly string[],
): Readonly<Record<string, unknown>> | undefined {
  let current: unknown = object;
  for (const key of [...metadataPath, 'annotations']) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return isRecord(current) ? current : undefined;
}

function sameExemption(
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
  metadataPath: readonly string[],
): boolean {
  if (oldObject === undefined) return false;
  const [now, before] = [annotationsAt(object, metadataPath), annotationsAt(oldObject, metadataPath)];
  return [EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION].every((key) => now?.[key] === before?.[key]);
}

function isController(user: UserInfo | undefined): boolean {
  const username: unknown = user?.username;
  return (
    typeof username === 'string' &&
    (username === CONTROLLER_USER || username.startsWith(CONTROLLER_SERVICE_ACCOUNT_PREFIX))
  );
}

function hasControllerOwner(object: KubeObject | undefined): boolean {
  const owners: unknown = object?.metadata?.['ownerReferences'];
  return Array.isArray(owners) && owners.some((owner) => isRecord(owner) && owner['controller'] === true);
}
