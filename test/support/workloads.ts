import type { KubeObject } from '../../src/admission/wire.ts';

/** The kinds that create Pods, with where each keeps the pod metadata (as src/rules/support/workloads.ts). */
export const WORKLOAD_CASES: ReadonlyArray<{
  readonly kind: string;
  readonly apiVersion: string;
  readonly podMetadataPath: string;
}> = [
  { kind: 'Pod', apiVersion: 'v1', podMetadataPath: '/metadata' },
  { kind: 'Deployment', apiVersion: 'apps/v1', podMetadataPath: '/spec/template/metadata' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', podMetadataPath: '/spec/template/metadata' },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', podMetadataPath: '/spec/template/metadata' },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', podMetadataPath: '/spec/template/metadata' },
  { kind: 'Job', apiVersion: 'batch/v1', podMetadataPath: '/spec/template/metadata' },
  { kind: 'CronJob', apiVersion: 'batch/v1', podMetadataPath: '/spec/jobTemplate/spec/template/metadata' },
];

export interface WorkloadOptions {
  readonly name?: string;
  readonly namespace?: string;
  /** Extra fields of the object's own metadata (labels, ownerReferences…). */
  readonly metadata?: Record<string, unknown>;
}

const POD_SPEC = { containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0.0' }] };

/**
 * A workload of `kind` whose Pods get `podAnnotations` (no annotations map when undefined),
 * shaped as the API server sends it.
 */
export function workload(
  kind: string,
  podAnnotations: Record<string, unknown> | undefined,
  options: WorkloadOptions = {},
): KubeObject {
  const podMetadata = {
    labels: { app: 'orders' },
    ...(podAnnotations === undefined ? {} : { annotations: podAnnotations }),
  };
  const apiVersion = WORKLOAD_CASES.find((entry) => entry.kind === kind)?.apiVersion ?? 'v1';
  const metadata = { name: options.name ?? 'orders', namespace: options.namespace ?? 'shop', ...options.metadata };
  if (kind === 'Pod') {
    // Annotation values may be of any JSON type here: tests feed the rules what a client could send.
    const object: Record<string, unknown> = {
      apiVersion,
      kind,
      metadata: { ...metadata, ...podMetadata, ...options.metadata },
      spec: POD_SPEC,
    };
    return object;
  }
  const template = { metadata: podMetadata, spec: POD_SPEC };
  if (kind === 'CronJob') {
    return { apiVersion, kind, metadata, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } };
  }
  return { apiVersion, kind, metadata, spec: { replicas: 2, selector: { matchLabels: { app: 'orders' } }, template } };
}
