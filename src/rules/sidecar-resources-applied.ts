import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import { SIDECAR_RESOURCE_ANNOTATIONS, type SidecarResource } from './support/dapr-annotations.ts';
import { asArray, asRecord, asString, recordAt, stringMap, type JsonRecord } from './support/json.ts';
import { fitMessage, messageBudget } from './support/messages.ts';
import { contextObjectName } from './support/objects.ts';
import { compareQuantities, MAX_QUANTITY_LENGTH, parseQuantity, type QuantityValue } from './support/quantity.ts';

export const SIDECAR_RESOURCES_APPLIED_RULE_ID = 'sidecar-resources-applied';

const BUDGET = messageBudget(SIDECAR_RESOURCES_APPLIED_RULE_ID);

/** The container name Dapr's injector gives the sidecar (`pkg/injector/patcher`, `SidecarContainerName`). */
const DAPRD = 'daprd';

/** Where each annotation lands in the daprd container's `resources`, and its name in messages. */
const TARGETS: Readonly<Record<SidecarResource, readonly ['requests' | 'limits', 'cpu' | 'memory', string]>> = {
  cpuRequest: ['requests', 'cpu', 'cpu request'],
  cpuLimit: ['limits', 'cpu', 'cpu limit'],
  memoryRequest: ['requests', 'memory', 'memory request'],
  memoryLimit: ['limits', 'memory', 'memory limit'],
};

const RESOURCES = Object.keys(SIDECAR_RESOURCE_ANNOTATIONS) as SidecarResource[];

/**
 * The final-state check: validating webhooks run after every mutating webhook, so a Pod here is as
 * Dapr's injector left it. Its daprd container (a container, or a native sidecar: an init container
 * with restartPolicy Always) must have the resources its `dapr.io/sidecar-*` annotations ask for.
 */
export function sidecarResourcesAppliedRule(): ValidatingRule {
  return {
    id: SIDECAR_RESOURCES_APPLIED_RULE_ID,
    type: 'validating',
    description:
      "Warns when a Pod's injected daprd container (or native sidecar) lacks the cpu/memory its dapr.io/sidecar-* annotations ask for.",
    defaultMode: 'warn',
    kinds: ['Pod'],
    validate: unappliedFindings,
  };
}

function unappliedFindings(context: RuleContext): Finding[] {
  const kind = context.request.kind;
  // The injector acts on Pod CREATE only; an UPDATE cannot change what it did.
  if (kind.group !== '' || kind.kind !== 'Pod' || context.request.operation !== 'CREATE') return [];
  const daprd = daprdContainerOf(context.object);
  if (daprd === undefined) return [];
  const annotations = stringMap(recordAt(context.object, ['metadata'])?.['annotations']);
  const asked = RESOURCES.filter((resource) => (annotations[SIDECAR_RESOURCE_ANNOTATIONS[resource]] ?? '') !== '');
  if (asked.length === 0) return [];
  const unparsable = asked.some(
    (resource) => quantityOf(annotations[SIDECAR_RESOURCE_ANNOTATIONS[resource]]) === undefined,
  );
  const unapplied = asked.filter((resource) => !isApplied(resource, annotations, daprd.container));
  if (unapplied.length === 0) return [];
  return [{ message: render(contextObjectName(context), daprd.native, unapplied, unparsable) }];
}

/** The daprd container, or the daprd native sidecar (an init container that keeps running). */
function daprdContainerOf(object: unknown): { readonly container: JsonRecord; readonly native: boolean } | undefined {
  const spec = recordAt(object, ['spec']);
  const named = (entry: unknown): JsonRecord | undefined => {
    const container = asRecord(entry);
    return asString(container?.['name']) === DAPRD ? container : undefined;
  };
  for (const entry of asArray(spec?.['containers'])) {
    const container = named(entry);
    if (container !== undefined) return { container, native: false };
  }
  for (const entry of asArray(spec?.['initContainers'])) {
    const container = named(entry);
    if (container !== undefined && container['restartPolicy'] === 'Always') return { container, native: true };
  }
  return undefined;
}

function quantityOf(raw: unknown): QuantityValue | undefined {
  const text = typeof raw === 'number' ? String(raw) : asString(raw);
  if (text === undefined || text.length > MAX_QUANTITY_LENGTH) return undefined;
  const value = parseQuantity(text);
  return value === undefined || value < 0 ? undefined : value;
}

function isApplied(
  resource: SidecarResource,
  annotations: Readonly<Record<string, string>>,
  container: JsonRecord,
): boolean {
  const [section, name] = TARGETS[resource];
  const wanted = quantityOf(annotations[SIDECAR_RESOURCE_ANNOTATIONS[resource]]);
  const actual = quantityOf(asRecord(asRecord(container['resources'])?.[section])?.[name]);
  return wanted !== undefined && actual !== undefined && compareQuantities(wanted, actual) === 0;
}

function render(pod: string, native: boolean, unapplied: readonly SidecarResource[], unparsable: boolean): string {
  const sidecar = native ? 'daprd native sidecar' : 'daprd';
  const settings =
    unapplied.length === RESOURCES.length
      ? 'cpu/memory requests and limits'
      : unapplied.map((resource) => TARGETS[resource][2]).join(', ');
  const cause = unparsable
    ? 'the injector drops all four when one does not parse — fix it and recreate the Pod'
    : 'set after dapr-sidecar-injector ran — set them in the pod template and recreate the Pod';
  return fitMessage(
    (clip) =>
      `Pod "${clip(pod)}": ${sidecar} lacks the ${settings} its dapr.io/sidecar-* annotations ask for: ${cause}`,
    BUDGET,
  );
}
