import type { KubeObject } from '../admission/wire.ts';
import { isRecord, type JsonRecord } from '../util/json.ts';

/** The containers of a Pod spec (or a pod template's), with the native sidecars among the init containers. */
export interface ContainerView {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly resources: JsonRecord;
}

const MAX_CONTAINERS = 256;
const MAX_IMAGE_LENGTH = 512;

function containerOf(value: unknown): ContainerView | undefined {
  if (!isRecord(value) || typeof value['name'] !== 'string') return undefined;
  const image = typeof value['image'] === 'string' ? value['image'].slice(0, MAX_IMAGE_LENGTH) : '';
  return {
    name: value['name'],
    image,
    env: literalEnvOf(value['env']),
    resources: isRecord(value['resources']) ? value['resources'] : {},
  };
}

/** Literal `env` values (no valueFrom): the settings a chart writes into a container. */
function literalEnvOf(value: unknown): Readonly<Record<string, string>> {
  if (!Array.isArray(value)) return {};
  const env: Record<string, string> = {};
  for (const entry of (value as unknown[]).slice(0, MAX_CONTAINERS)) {
    if (isRecord(entry) && typeof entry['name'] === 'string' && typeof entry['value'] === 'string')
      env[entry['name']] = entry['value'];
  }
  return env;
}

function containersAt(spec: JsonRecord, field: 'containers' | 'initContainers'): unknown[] {
  const list = spec[field];
  return Array.isArray(list) ? (list as unknown[]).slice(0, MAX_CONTAINERS) : [];
}

/** The app containers and the native sidecars (init containers with `restartPolicy: Always`) of a pod spec. */
export function runningContainersOf(spec: unknown): ContainerView[] {
  if (!isRecord(spec)) return [];
  const sidecars = containersAt(spec, 'initContainers').filter(
    (container) => isRecord(container) && container['restartPolicy'] === 'Always',
  );
  return [...containersAt(spec, 'containers'), ...sidecars].flatMap((container) => {
    const view = containerOf(container);
    return view === undefined ? [] : [view];
  });
}

/** The pod template's spec of a workload (`spec.template.spec`), or the Pod's own spec. */
export function podSpecOf(object: KubeObject, kind: string): unknown {
  const spec = object['spec'];
  if (!isRecord(spec)) return undefined;
  if (kind === 'Pod') return spec;
  const template = spec['template'];
  return isRecord(template) ? template['spec'] : undefined;
}

/** The Dapr sidecar Dapr's injector adds: the container named `daprd`. */
export const DAPRD_CONTAINER = 'daprd';

export function daprdOf(spec: unknown): ContainerView | undefined {
  return runningContainersOf(spec).find((container) => container.name === DAPRD_CONTAINER);
}

/**
 * The version part of an image reference: the tag (`1.18.3` of `ghcr.io/dapr/daprd:1.18.3`), else the
 * digest, else the whole reference; a registry port (`host:5000/daprd`) is not a tag.
 */
export function imageVersionOf(image: string): string {
  const digestAt = image.indexOf('@');
  const named = digestAt === -1 ? image : image.slice(0, digestAt);
  const lastSlash = named.lastIndexOf('/');
  const colon = named.indexOf(':', lastSlash + 1);
  if (colon !== -1) return named.slice(colon + 1);
  return digestAt === -1 ? image : image.slice(digestAt + 1);
}
