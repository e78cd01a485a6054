import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { DAPR_API_TOKEN_SECRET_ANNOTATION } from './support/dapr-annotations.ts';
import { describeObject, hasControllerOwner } from './support/objects.ts';
import { daprPodMetadataOf, POD_KINDS } from './support/workloads.ts';

export const API_TOKEN_RULE_ID = 'api-token';

/**
 * Recommends Dapr API token authentication (production guidelines): without it any process that
 * reaches the sidecar's ports can call the Dapr API on the app's behalf.
 */
export function apiTokenRule(): ValidatingRule {
  return {
    id: API_TOKEN_RULE_ID,
    type: 'validating',
    description:
      'Recommends dapr.io/api-token-secret on Dapr-enabled Pods and pod templates, so that callers of the Dapr API need a token.',
    defaultMode: 'warn',
    kinds: POD_KINDS,
    validate: findMissingApiToken,
  };
}

function findMissingApiToken(context: RuleContext): Finding[] {
  const pod = daprPodMetadataOf(context.object, context.request.kind);
  if (pod === undefined) return [];
  // Pods of a ReplicaSet, ReplicaSets of a Deployment, Jobs of a CronJob: the owner was reviewed
  // already, and a warning to its controller reaches no one.
  if (hasControllerOwner(context.object)) return [];
  // Dapr sets DAPR_API_TOKEN only for a non-empty Secret name.
  if ((pod.annotations[DAPR_API_TOKEN_SECRET_ANNOTATION] ?? '').trim() !== '') return [];
  const object = describeObject(context.request.kind.kind, context.object);
  return [
    {
      message: `${object} has no ${DAPR_API_TOKEN_SECRET_ANNOTATION} — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token`,
    },
  ];
}
