import { applyPatch, type PatchOperation } from '../admission/json-patch.ts';
import { kindResourceOf } from '../admission/kinds.ts';
import type { AdmissionRequest, AdmissionResponse, KubeObject, UserInfo } from '../admission/wire.ts';
import { decideReview, type Verdict } from '../policy/decide.ts';
import { evaluate, type Policy } from '../policy/evaluate.ts';
import type { Exemption, Mutation, Violation } from '../policy/evaluation.ts';

/** What the API server would know about the request besides the object; everything is optional. */
export interface ObjectContext {
  /** Default: CREATE. An UPDATE needs `oldObject`. */
  readonly operation?: 'CREATE' | 'UPDATE';
  readonly oldObject?: KubeObject;
  /** Default: the object's `metadata.namespace`. */
  readonly namespace?: string;
  /** Default: an anonymous user in no group (so no exemption counts unless it is unchanged). */
  readonly userInfo?: UserInfo;
  readonly uid?: string;
}

/** The review of one object through both webhooks, in the order the API server calls them. */
export interface ObjectReview {
  readonly ok: true;
  /** allowed, patched (allowed with the mutating webhook's patch) or denied (by either webhook). */
  readonly decision: Verdict;
  /** What the mutating rules changed or, in audit mode, would have changed. */
  readonly mutations: readonly Mutation[];
  /** The mutating webhook's JSON Patch, and the object with it applied (what the validating webhook saw). */
  readonly patch: readonly PatchOperation[];
  readonly mutated: KubeObject;
  /** The mutating webhook's violations (none today) followed by the validating webhook's. */
  readonly violations: readonly Violation[];
  readonly exemptions: readonly Exemption[];
  /** Messages about the review itself (an exemption that does not count). */
  readonly notices: readonly string[];
  /** The two AdmissionResponses, as the webhook would send them. */
  readonly responses: { readonly mutate: AdmissionResponse; readonly validate: AdmissionResponse };
}

export type ObjectReviewResult = ObjectReview | { readonly ok: false; readonly message: string };

const DEFAULT_UID = '00000000-0000-0000-0000-000000000000';

/**
 * One object through the rules exactly as a cluster would run them: the mutating webhook first, its
 * patch applied, then the validating webhook on the mutated object. The shared entry point of the
 * webhook tests, the offline check and the cluster audit. Pure.
 */
export function reviewObject(object: KubeObject, context: ObjectContext, policy: Policy): ObjectReviewResult {
  const mutateRequest = requestFor(object, context);
  if (typeof mutateRequest === 'string') return { ok: false, message: mutateRequest };
  const mutation = evaluate(mutateRequest, policy, 'mutate');
  const mutate = decideReview(mutateRequest.uid, mutation);
  const mutated = mutate.verdict === 'patched' ? applyPatch(object, mutation.patch) : object;
  const validation = evaluate({ ...mutateRequest, object: mutated }, policy, 'validate');
  const validate = decideReview(mutateRequest.uid, validation);
  return {
    ok: true,
    decision: combinedVerdict(mutate.verdict, validate.verdict),
    mutations: mutation.mutations,
    patch: mutate.verdict === 'patched' ? mutation.patch : [],
    mutated,
    violations: [...mutation.violations, ...validation.violations],
    exemptions: validation.exemptions,
    notices: [...mutation.notices, ...validation.notices],
    responses: { mutate: mutate.response, validate: validate.response },
  };
}

/** Either webhook's denial denies; otherwise the mutating webhook's patch decides. */
function combinedVerdict(mutate: Verdict, validate: Verdict): Verdict {
  return mutate === 'denied' || validate === 'denied' ? 'denied' : mutate;
}

/** The AdmissionRequest the API server would send for `object`, or why there is none. */
function requestFor(object: KubeObject, context: ObjectContext): AdmissionRequest | string {
  const kindName = textOf(object.kind) ?? '';
  const known = kindResourceOf(kindName);
  if (known === undefined)
    return `kind ${JSON.stringify(kindName.slice(0, 64))} is not one dapr-guard knows the resource of`;
  const operation = context.operation ?? 'CREATE';
  if (operation === 'UPDATE' && context.oldObject === undefined) return 'an UPDATE needs the old object';
  return {
    uid: context.uid ?? DEFAULT_UID,
    kind: known.kind,
    resource: known.resource,
    requestKind: known.kind,
    requestResource: known.resource,
    ...identityOf(object, context),
    operation,
    userInfo: context.userInfo ?? {},
    object,
    ...(context.oldObject === undefined ? {} : { oldObject: context.oldObject }),
    // Nothing an offline review decides is stored.
    dryRun: true,
  };
}

/**
 * `name` and `namespace` as the API server sets them: left out when empty. A file given to the offline
 * check may hold anything there; the rules read them as strings, so anything else is left out too.
 */
function identityOf(object: KubeObject, context: ObjectContext): { name?: string; namespace?: string } {
  const namespace = textOf(context.namespace ?? object.metadata?.namespace);
  const name = textOf(object.metadata?.name);
  return { ...(name === undefined ? {} : { name }), ...(namespace === undefined ? {} : { namespace }) };
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
