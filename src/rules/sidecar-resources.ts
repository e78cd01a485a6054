import { describeSetting, isRecord } from '../util/json.ts';
import type { MutatingRule, RuleOptions } from './rule.ts';
import {
  DAPR_ENV_ANNOTATION,
  DAPR_ENV_FROM_SECRET_ANNOTATION,
  SIDECAR_RESOURCE_ANNOTATIONS,
  SIDECAR_RESOURCE_PAIRS,
  SIDECAR_RESOURCES_BY_GUIDELINES,
  type SidecarResource,
  type SidecarResourceValues,
} from './support/dapr-annotations.ts';
import { DEFAULT_GUIDELINES, type Guidelines } from './support/guidelines.ts';
import { ensureRecordAt, type JsonRecord } from './support/json.ts';
import { compareQuantities, isQuantity, parseQuantity } from './support/quantity.ts';
import { daprPodMetadataOf, POD_KINDS } from './support/workloads.ts';

export const SIDECAR_RESOURCES_RULE_ID = 'sidecar-resources';

/** The rule's own keys under `rules.sidecar-resources`, besides mode and enabled. */
export const SIDECAR_RESOURCES_OPTION_KEYS: readonly string[] = ['defaults', 'goMemLimit'];

/** What the rule does, read from its options over the guidelines' values. */
export interface SidecarResourcesSettings {
  readonly defaults: SidecarResourceValues;
  /** Add `GOMEMLIMIT` (90 % of the memory limit) to `dapr.io/env` when absent: the guidelines since Dapr 1.11. */
  readonly goMemLimit: boolean;
}

/**
 * `defaults` and `goMemLimit` of `rules.sidecar-resources`, checked, over the values of `guidelines`:
 * each default a non-negative quantity, no request above its limit (the sidecar-resource-values rule
 * would refuse what this rule wrote). A default that is not valid keeps the guidelines' value. Each
 * problem names its key under `rules.sidecar-resources`.
 */
export function readSidecarResourcesOptions(
  options: RuleOptions,
  guidelines: Guidelines = DEFAULT_GUIDELINES,
): SidecarResourcesSettings & { readonly problems: readonly string[] } {
  const base = SIDECAR_RESOURCES_BY_GUIDELINES[guidelines];
  const goMemLimit = readGoMemLimit(options['goMemLimit'], guidelines);
  const raw = options['defaults'];
  if (raw === undefined) return { defaults: base, goMemLimit: goMemLimit.value, problems: goMemLimit.problems };
  if (!isRecord(raw))
    return {
      defaults: base,
      goMemLimit: goMemLimit.value,
      problems: [`defaults must be a mapping, got ${describeSetting(raw)}`, ...goMemLimit.problems],
    };
  const problems: string[] = [];
  const keys = Object.keys(base) as SidecarResource[];
  const entries = keys.map((key): [SidecarResource, string] => {
    const value = raw[key] ?? base[key];
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text === 'string' && isQuantity(text) && !text.startsWith('-')) return [key, text];
    problems.push(
      `defaults.${key} must be a non-negative Kubernetes quantity such as ${base[key]}, got ${describeSetting(value)}`,
    );
    return [key, base[key]];
  });
  const defaults = Object.fromEntries(entries) as Record<SidecarResource, string>;
  return {
    defaults,
    goMemLimit: goMemLimit.value,
    problems: [...problems, ...requestAboveLimitProblems(defaults), ...goMemLimit.problems],
  };
}

/** On by default with the guidelines since Dapr 1.13 (the GOMEMLIMIT section is there since 1.11). */
function readGoMemLimit(raw: unknown, guidelines: Guidelines): { value: boolean; problems: string[] } {
  const fallback = guidelines === 'dapr-1.13';
  if (raw === undefined) return { value: fallback, problems: [] };
  if (typeof raw === 'boolean') return { value: raw, problems: [] };
  if (raw === 'true' || raw === 'false') return { value: raw === 'true', problems: [] };
  return { value: fallback, problems: [`goMemLimit must be true or false, got ${describeSetting(raw)}`] };
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
 * Adds the missing sidecar resource annotations to Dapr-enabled Pods and pod templates, and with
 * `goMemLimit` a GOMEMLIMIT soft limit to `dapr.io/env`.
 * Templates matter: Dapr's injector reads the annotations once, when it creates the Pod.
 */
export function sidecarResourcesRule(defaults: SidecarResourceValues, goMemLimit = false): MutatingRule {
  return {
    id: SIDECAR_RESOURCES_RULE_ID,
    type: 'mutating',
    description: 'Adds the production sidecar cpu/memory requests and limits to Dapr-enabled Pods and pod templates.',
    defaultMode: 'enforce',
    kinds: POD_KINDS,
    scope: (object, context) => {
      const pod = daprPodMetadataOf(object, context.request.kind);
      return pod === undefined ? undefined : [...pod.path, 'annotations'];
    },
    mutate: (copy, context) => {
      const pod = daprPodMetadataOf(copy, context.request.kind);
      if (pod === undefined) return [];
      const annotations = ensureRecordAt(copy, [...pod.path, 'annotations']);
      const added = addMissingAnnotations(annotations, pod.annotations, defaults);
      return goMemLimit ? [...added, ...addGoMemLimit(annotations)] : added;
    },
  };
}

function addMissingAnnotations(
  annotations: JsonRecord,
  userAnnotations: Readonly<Record<string, string>>,
  defaults: SidecarResourceValues,
): string[] {
  // Presence, not a string value, decides: a user value of the wrong type is left for the API server to refuse.
  const missing = (Object.keys(SIDECAR_RESOURCE_ANNOTATIONS) as SidecarResource[]).filter(
    (resource) => !Object.hasOwn(annotations, SIDECAR_RESOURCE_ANNOTATIONS[resource]),
  );
  return missing.map((resource) => {
    const key = SIDECAR_RESOURCE_ANNOTATIONS[resource];
    const value = defaultConsistentWithUser(resource, userAnnotations, defaults);
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

const GOMEMLIMIT = 'GOMEMLIMIT';
const MIB = 1024 * 1024;
/** The guidelines: "set GOMEMLIMIT to 90% of the memory limit" (the Go runtime's suffix is MiB). */
const SOFT_LIMIT_SHARE = 0.9;

/**
 * GOMEMLIMIT at 90 % of the (final) `dapr.io/sidecar-memory-limit`, appended to `dapr.io/env` unless
 * `dapr.io/env` or `dapr.io/env-from-secret` already sets it; nothing when the limit does not parse or
 * `dapr.io/env` is not a string (the API server refuses that).
 */
function addGoMemLimit(annotations: JsonRecord): string[] {
  const limit = annotations[SIDECAR_RESOURCE_ANNOTATIONS.memoryLimit];
  const value = typeof limit === 'string' ? parseQuantity(limit) : undefined;
  const mebibytes = value === undefined ? 0 : Math.floor((Number(value) * SOFT_LIMIT_SHARE) / MIB);
  const env = annotations[DAPR_ENV_ANNOTATION];
  if (mebibytes < 1 || (env !== undefined && typeof env !== 'string')) return [];
  if (setsVariable(env, GOMEMLIMIT) || setsVariable(annotations[DAPR_ENV_FROM_SECRET_ANNOTATION], GOMEMLIMIT))
    return [];
  const entry = `${GOMEMLIMIT}=${mebibytes}MiB`;
  annotations[DAPR_ENV_ANNOTATION] = env === undefined || env.trim() === '' ? entry : `${env},${entry}`;
  return [`${entry} in ${DAPR_ENV_ANNOTATION}`];
}

const PAIR_START = /^\s*([a-z_]\w*)=/i;

/**
 * Whether a `KEY=value,KEY2=value` annotation sets `name`. Dapr's injector starts a pair at the
 * beginning and at each `,` followed by an identifier and `=` (values may contain commas).
 */
function setsVariable(annotation: unknown, name: string): boolean {
  if (typeof annotation !== 'string') return false;
  return annotation.split(',').some((piece) => PAIR_START.exec(piece)?.[1] === name);
}
