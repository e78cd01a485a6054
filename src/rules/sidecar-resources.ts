import type { MutatingRule, MutableObject, RuleContext } from './rule.ts';
import {
  SIDECAR_RESOURCE_ANNOTATIONS,
  SIDECAR_RESOURCE_PAIRS,
  type SidecarResource,
  type SidecarResourceValues,
} from './support/dapr.ts';
import { ensureRecordAt } from './support/json.ts';
import { compareQuantities, parseQuantity } from './support/quantity.ts';
import { daprPodMetadataOf } from './support/workloads.ts';

export const SIDECAR_RESOURCES_RULE_ID = 'sidecar-resources';

/**
 * Adds the missing sidecar resource annotations to Dapr-enabled Pods and pod templates.
 * Templates matter: Dapr's injector reads the annotations once, when it creates the Pod.
 */
export function sidecarResourcesRule(defaults: SidecarResourceValues): MutatingRule {
  return {
    id: SIDECAR_RESOURCES_RULE_ID,
    type: 'mutating',
    description: 'Adds the production sidecar cpu/memory requests and limits to Dapr-enabled Pods and pod templates.',
    defaultMode: 'enforce',
    scope: (object, context) => {
      const pod = daprPodMetadataOf(object, context.request.kind);
      return pod === undefined ? undefined : [...pod.path, 'annotations'];
    },
    mutate: (copy, context) => addMissingAnnotations(copy, context, defaults),
  };
}

function addMissingAnnotations(copy: MutableObject, context: RuleContext, defaults: SidecarResourceValues): string[] {
  const pod = daprPodMetadataOf(copy, context.request.kind);
  if (pod === undefined) return [];
  const annotations = ensureRecordAt(copy, [...pod.path, 'annotations']);
  // Presence, not a string value, decides: a user value of the wrong type is left for the API server to refuse.
  const missing = (Object.keys(SIDECAR_RESOURCE_ANNOTATIONS) as SidecarResource[]).filter(
    (resource) => !Object.hasOwn(annotations, SIDECAR_RESOURCE_ANNOTATIONS[resource]),
  );
  return missing.map((resource) => {
    const key = SIDECAR_RESOURCE_ANNOTATIONS[resource];
    const value = defaultConsistentWithUser(resource, pod.annotations, defaults);
    annotations[key] = value;
    return `${key}=${value}`;
  });
}

/**
 * The configured default, unless the user's value for the other half of its request/limit pair
 * contradicts it (Kubernetes refuses a request above its limit): then the user's value, the way
 * Kubernetes itself defaults a missing request to the limit.
 */
function defaultConsistentWithUser(
  resource: SidecarResource,
  annotations: Readonly<Record<string, string>>,
  defaults: SidecarResourceValues,
): string {
  const fallback = defaults[resource];
  const pair = SIDECAR_RESOURCE_PAIRS.find((candidate) => candidate.request === resource || candidate.limit === resource);
  if (pair === undefined) return fallback;
  const isRequest = pair.request === resource;
  const userText = annotations[SIDECAR_RESOURCE_ANNOTATIONS[isRequest ? pair.limit : pair.request]];
  const userValue = userText === undefined ? undefined : parseQuantity(userText);
  const fallbackValue = parseQuantity(fallback);
  if (userText === undefined || userValue === undefined || fallbackValue === undefined || userValue < 0) return fallback;
  const order = compareQuantities(fallbackValue, userValue);
  return (isRequest ? order > 0 : order < 0) ? userText : fallback;
}
