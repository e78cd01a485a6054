import type { PatchOperation } from '../../admission/json-patch.ts';
import type { KubeObject, UserInfo } from '../../admission/wire.ts';
import type { Policy } from '../../policy/evaluate.ts';
import type { Location, ObjectRef, ReportFinding, ReviewedObject } from '../../report/model.ts';
import { reviewObject, type ObjectReview } from '../../webhook/review-object.ts';

/** Kinds that have no namespace: reviewed without one, as the API server sends them. */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);

export type ObjectOutcome =
  | { readonly reviewed: true; readonly result: ReviewedObject; readonly patch: readonly PatchOperation[] }
  | { readonly reviewed: false };

/** How objects are reviewed: the policy, and what kubectl apply would add to each request. */
export interface ReviewSettings {
  readonly policy: Policy;
  /** The namespace of an object that names none. */
  readonly defaultNamespace: string;
  /** Who applies the objects: exemptions count only for a member of exemptions.allowedGroups. */
  readonly userInfo: UserInfo;
}

/**
 * One object through the webhooks' shared review core, as a CREATE in its own namespace or else in
 * the default namespace (what kubectl apply would send), turned into report findings. Pure.
 */
export function reviewManifest(object: KubeObject, location: Location, settings: ReviewSettings): ObjectOutcome {
  const { policy, userInfo } = settings;
  const namespace = namespaceOf(object, settings.defaultNamespace);
  const context = { operation: 'CREATE', userInfo, ...(namespace === undefined ? {} : { namespace }) } as const;
  const review = reviewObject(object, context, policy);
  // A kind without a resource in the table is one the webhooks are never called for.
  if (!review.ok) return { reviewed: false };
  const exempt = new Set(review.exemptions.map((exemption) => exemption.ruleId));
  return {
    reviewed: true,
    patch: review.patch,
    result: {
      location,
      object: refOf(object, namespace),
      rulesApplied: policy.rules
        .filter((rule) => rule.kinds.includes(object.kind ?? '') && !exempt.has(rule.id))
        .map((rule) => rule.id),
      findings: findingsOf(review),
    },
  };
}

function namespaceOf(object: KubeObject, defaultNamespace: string): string | undefined {
  if (CLUSTER_SCOPED_KINDS.has(object.kind ?? '')) return undefined;
  const own = object.metadata?.namespace;
  return typeof own === 'string' && own !== '' ? own : defaultNamespace;
}

function refOf(object: KubeObject, namespace: string | undefined): ObjectRef {
  const name = object.metadata?.name;
  return {
    apiVersion: object.apiVersion ?? '',
    kind: object.kind ?? '',
    ...(namespace === undefined ? {} : { namespace }),
    ...(typeof name === 'string' ? { name } : {}),
  };
}

const NOTICE_PREFIX = /^\[(?<id>[a-z0-9-]{1,63})\] /;

function findingsOf(review: ObjectReview): ReportFinding[] {
  const mutations = review.mutations.map((mutation): ReportFinding => ({
    kind: 'mutation',
    ruleId: mutation.ruleId,
    mode: mutation.mode,
    message: `would add ${mutation.changes.join(', ')}`,
    // The webhook adds nothing in audit mode; otherwise this is the patch it would send for the object.
    ...(mutation.mode === 'audit' || review.patch.length === 0 ? {} : { patch: review.patch }),
  }));
  const violations = review.violations.map((violation): ReportFinding => ({
    kind: 'violation',
    ruleId: violation.ruleId,
    mode: violation.mode,
    message: violation.message,
  }));
  const notices = review.notices.map((notice): ReportFinding => {
    const id = NOTICE_PREFIX.exec(notice)?.groups?.['id'];
    return {
      kind: 'notice',
      ruleId: id ?? 'dapr-guard',
      // The webhook sends a notice as a warning.
      mode: 'warn',
      message: id === undefined ? notice : notice.slice(id.length + 3),
    };
  });
  return [...mutations, ...violations, ...notices];
}
