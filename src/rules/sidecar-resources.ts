import { describeSetting, isRecord } from '../util/json.ts';
import type { MutatingRule, MutableObject, RuleContext, RuleOptions } from './rule.ts';
import {
  PRODUCTION_SIDECAR_RESOURCES,
  SIDECAR_RESOURCE_ANNOTATIONS,
  SIDECAR_RESOURCE_PAIRS,
  type SidecarResource,
  type SidecarResourceValues,
} from './support/dapr-annotations.ts';
import { ensureRecordAt } from './support/json.ts';
import { compareQuantities, isQuantity, parseQuantity } from './support/quantity.ts';
import { daprPodMetadataOf } from './support/workloads.ts';

export const SIDECAR_RESOURCES_RULE_ID = 'sidecar-resources';

/** The rule's own keys under `rules.sidecar-resources`, besides mode and enabled. */
export const SIDECAR_RESOURCES_OPTION_KEYS: readonly string[] = ['defaults'];

/**
 * `defaults` of `rules.sidecar-resources`, checked: each one a non-negative quantity, no request above
 * its limit (the sidecar-resource-values rule would refuse what this rule wrote). A default that is not
 * valid keeps the production value. Each problem names its key under `rules.sidecar-resources`.
 */
export function readSidecarResourcesOptions(options: RuleOptions): {
  readonly defaults: SidecarResourceValues;
  readonly problems: readonly string[];
} {
  const raw = options['defaults'];
  if (raw === undefined) return { defaults: PRODUCTION_SIDECAR_RESOURCES, problems: [] };
  if (!isRecord(raw))
    return {
      defaults: PRODUCTION_SIDECAR_RESOURCES,
      problems: [`defaults must be a mapping, got ${describeSetting(raw)}`],
    };
  const problems: string[] = [];
  const keys = Object.keys(PRODUCTION_SIDECAR_RESOURCES) as SidecarResource[];
  const entries = keys.map((key): [SidecarResource, string] => {
    const value = raw[key] ?? PRODUCTION_SIDECAR_RESOURCES[key];
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text === 'string' && isQuantity(text) && !text.startsWith('-')) return [key, text];
    problems.push(
      `defaults.${key} must be a non-negative Kubernetes quantity such as ${PRODUCTION_SIDECAR_RESOURCES[key]}, got ${describeSetting(value)}`,
    );
    return [key, PRODUCTION_SIDECAR_RESOURCES[key]];
  });
  const defaults = Object.fromEntries(entries) as Record<SidecarResource, string>;
  return { defaults, problems: [...problems, ...requestAboveLimitProblems(defaults)] };
}

/** Defaults the sidecar-resource-values rule would refuse: a request above its limit. */
function requestAboveLimitProblems(defaults: SidecarResourceValues): string[] {
  return SIDECAR_RESOURCE_PAIRS.flatMap((pair) => {
    const [request, limit] = [parseQuantity(defaults[pair.request]), parseQuantity(defaults[pair.limit])];
    if (request === undefined || limit === undefined || compareQuantities(request, limit) <= 0) return [];
    return [
      `defaults.${pair.request} (${defaults[pair.request]}) must not be above ${pair.limit} (${defaults[pair.limit]})`,
    ];
  });
}

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
  const pair = SIDECAR_RESOURCE_PAIRS.find(
    (candidate) => candidate.request === resource || candidate.limit === resource,
  );
  if (pair === undefined) return fallback;
  const isRequest = pair.request === resource;
  const userText = annotations[SIDECAR_RESOURCE_ANNOTATIONS[isRequest ? pair.limit : pair.request]];
  const userValue = userText === undefined ? undefined : parseQuantity(userText);
  const fallbackValue = parseQuantity(fallback);
  if (userText === undefined || userValue === undefined || fallbackValue === undefined || userValue < 0)
    return fallback;
  const order = compareQuantities(fallbackValue, userValue);
  return (isRequest ? order > 0 : order < 0) ? userText : fallback;
}
