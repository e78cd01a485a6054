import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import {
  SIDECAR_RESOURCE_ANNOTATIONS,
  SIDECAR_RESOURCE_PAIRS,
  type SidecarResource,
  type SidecarResourcePair,
} from './support/dapr-annotations.ts';
import { quoted } from './support/objects.ts';
import { compareQuantities, MAX_QUANTITY_LENGTH, parseQuantity, type QuantityValue } from './support/quantity.ts';
import { daprPodMetadataOf, POD_KINDS } from './support/workloads.ts';

export const SIDECAR_RESOURCE_VALUES_RULE_ID = 'sidecar-resource-values';

const EXAMPLES: Readonly<Record<SidecarResourcePair['resource'], string>> = {
  cpu: '"4" or "500m"',
  memory: '"512Mi" or "1Gi"',
};

/**
 * Checks the values of the sidecar resource annotations of Dapr-enabled Pods and pod templates.
 * Dapr drops all four when one does not parse, and Kubernetes refuses the injected daprd
 * container when a value is negative or a request exceeds its limit.
 */
export function sidecarResourceValuesRule(): ValidatingRule {
  return {
    id: SIDECAR_RESOURCE_VALUES_RULE_ID,
    type: 'validating',
    description:
      'Refuses Dapr sidecar cpu/memory annotations that are not Kubernetes quantities, are negative, or have a request above the limit.',
    defaultMode: 'enforce',
    kinds: POD_KINDS,
    validate: findBadValues,
  };
}

function findBadValues(context: RuleContext): Finding[] {
  const pod = daprPodMetadataOf(context.object, context.request.kind);
  if (pod === undefined) return [];
  return SIDECAR_RESOURCE_PAIRS.flatMap((pair) => pairFindings(pair, pod.annotations));
}

function pairFindings(pair: SidecarResourcePair, annotations: Readonly<Record<string, string>>): Finding[] {
  const request = readValue(pair, pair.request, annotations);
  const limit = readValue(pair, pair.limit, annotations);
  const findings = [request, limit].flatMap((value) => (value.finding === undefined ? [] : [value.finding]));
  if (request.value !== undefined && limit.value !== undefined && compareQuantities(request.value, limit.value) > 0) {
    findings.push({ message: requestAboveLimit(pair, annotations) });
  }
  return findings;
}

interface ReadValue {
  /** Set when the annotation holds a usable (valid, non-negative) quantity. */
  readonly value?: QuantityValue;
  readonly finding?: Finding;
}

function readValue(
  pair: SidecarResourcePair,
  resource: SidecarResource,
  annotations: Readonly<Record<string, string>>,
): ReadValue {
  const key = SIDECAR_RESOURCE_ANNOTATIONS[resource];
  const text = annotations[key];
  // Dapr treats an empty value as not set.
  if (text === undefined || text === '') return {};
  if (text.length > MAX_QUANTITY_LENGTH) return { finding: { message: tooLong(pair, key) } };
  const value = parseQuantity(text);
  if (value === undefined) {
    return {
      finding: {
        message: `${key} ${quoted(text)} is not a Kubernetes quantity — use a value such as ${EXAMPLES[pair.resource]}; Dapr ignores all four sidecar resource annotations when one is invalid`,
      },
    };
  }
  if (value < 0) {
    return {
      finding: {
        message: `${key} ${quoted(text)} is negative — use a value such as ${EXAMPLES[pair.resource]}; Kubernetes refuses a Pod whose daprd container has a negative ${pair.resource} value`,
      },
    };
  }
  return { value };
}

/** Says how long the value is allowed to be, not what it is: it may be megabytes. */
function tooLong(pair: SidecarResourcePair, key: string): string {
  return `${key} is longer than ${MAX_QUANTITY_LENGTH} characters, so it is not a Kubernetes quantity — use a value such as ${EXAMPLES[pair.resource]}; Dapr ignores all four sidecar resource annotations when one is invalid`;
}

function requestAboveLimit(pair: SidecarResourcePair, annotations: Readonly<Record<string, string>>): string {
  const requestKey = SIDECAR_RESOURCE_ANNOTATIONS[pair.request];
  const limitKey = SIDECAR_RESOURCE_ANNOTATIONS[pair.limit];
  const request = quoted(annotations[requestKey] ?? '');
  const limit = quoted(annotations[limitKey] ?? '');
  return `${requestKey} ${request} is above ${limitKey} ${limit} — lower the request or raise the limit; Kubernetes refuses a Pod whose daprd ${pair.resource} request exceeds its limit`;
}
