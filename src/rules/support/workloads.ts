import type { GroupVersionKind } from '../../admission/wire.ts';
import { isDaprEnabled } from './dapr-annotations.ts';
import { recordAt, stringMap, type JsonRecord } from './json.ts';

/**
 * Where the pod metadata lives in each kind that creates Pods: Dapr's injector reads the
 * annotations of the Pod, which come from these templates.
 */
const POD_METADATA_PATHS: Readonly<Record<string, readonly string[]>> = {
  '/Pod': ['metadata'],
  'apps/Deployment': ['spec', 'template', 'metadata'],
  'apps/StatefulSet': ['spec', 'template', 'metadata'],
  'apps/DaemonSet': ['spec', 'template', 'metadata'],
  'apps/ReplicaSet': ['spec', 'template', 'metadata'],
  'batch/Job': ['spec', 'template', 'metadata'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
};

/** Pod and the kinds with a pod template, by kind name. */
export const POD_KINDS: readonly string[] = Object.keys(POD_METADATA_PATHS).map(kindNameOf);

/** `Deployment` of `apps/Deployment`. */
export function kindNameOf(groupKind: string): string {
  return groupKind.slice(groupKind.indexOf('/') + 1);
}

/** The path of the pod metadata for this kind, or undefined when the kind does not create Pods. */
export function podMetadataPath(kind: GroupVersionKind): readonly string[] | undefined {
  return POD_METADATA_PATHS[`${kind.group}/${kind.kind}`];
}

export interface PodMetadata {
  /** The path of the pod metadata inside the object, for messages (`spec.template.metadata`). */
  readonly path: readonly string[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

/** The pod (template) metadata of a workload object, or undefined for kinds that do not create Pods. */
export function podMetadataOf(object: unknown, kind: GroupVersionKind): PodMetadata | undefined {
  const path = podMetadataPath(kind);
  if (path === undefined) return undefined;
  const metadata: JsonRecord | undefined = recordAt(object, path);
  return { path, annotations: stringMap(metadata?.['annotations']), labels: stringMap(metadata?.['labels']) };
}

/** The pod (template) metadata when the object creates Pods that Dapr's injector will give a sidecar. */
export function daprPodMetadataOf(object: unknown, kind: GroupVersionKind): PodMetadata | undefined {
  const pod = podMetadataOf(object, kind);
  return pod !== undefined && isDaprEnabled(pod.annotations) ? pod : undefined;
}
