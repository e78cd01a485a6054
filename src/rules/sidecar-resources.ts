import type { MutatingRule, MutableObject, RuleContext } from './rule.ts';
import {
  isDaprEnabled,
  SIDECAR_RESOURCE_ANNOTATIONS,
  type SidecarResource,
  type SidecarResourceValues,
} from './support/dapr.ts';
import { ensureRecordAt } from './support/json.ts';
import { podMetadataOf } from './support/workloads.ts';

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
    mutate: (copy, context) => addMissingAnnotations(copy, context, defaults),
  };
}

function addMissingAnnotations(copy: MutableObject, context: RuleContext, defaults: SidecarResourceValues): string[] {
  const pod = podMetadataOf(copy, context.request.kind);
  if (pod === undefined || !isDaprEnabled(pod.annotations)) return [];
  const missing = (Object.keys(SIDECAR_RESOURCE_ANNOTATIONS) as SidecarResource[]).filter(
    (resource) => !(SIDECAR_RESOURCE_ANNOTATIONS[resource] in pod.annotations),
  );
  if (missing.length === 0) return [];
  const annotations = ensureRecordAt(copy, [...pod.path, 'annotations']);
  return missing.map((resource) => {
    const key = SIDECAR_RESOURCE_ANNOTATIONS[resource];
    annotations[key] = defaults[resource];
    return `${key}=${defaults[resource]}`;
  });
}
