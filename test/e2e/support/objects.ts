/** Manifests the scenarios apply, as a user would write them. */
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../../src/admission/wire.ts';

/** The sidecar annotations dapr-guard adds, with the Dapr production guidelines' values (the server's defaults). */
export const PRODUCTION_SIDECAR_ANNOTATIONS: Readonly<Record<string, string>> = {
  'dapr.io/sidecar-cpu-request': '100m',
  'dapr.io/sidecar-cpu-limit': '4',
  'dapr.io/sidecar-memory-request': '250Mi',
  'dapr.io/sidecar-memory-limit': '4000Mi',
};

export const SIDECAR_ANNOTATION_KEYS: readonly string[] = Object.keys(PRODUCTION_SIDECAR_ANNOTATIONS);

/** Six random hex digits, for names that must not collide between runs on one cluster. */
export function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * A Namespace with the `kubernetes.io/metadata.name` label that Kubernetes 1.21+ sets by itself
 * and 1.20 does not: the chart's namespaceSelectors match on it.
 */
export function namespaceObject(name: string, labels: Readonly<Record<string, string>> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

/** A Deployment whose pod template has these annotations (`dapr.io/enabled` etc.). */
export function deployment(
  name: string,
  namespace: string,
  podAnnotations: Readonly<Record<string, string>>,
  replicas = 1,
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: podAnnotations },
        spec: {
          containers: [{ name: 'app', image: 'ghcr.io/example/orders:1.0.0', ports: [{ containerPort: 3000 }] }],
        },
      },
    },
  };
}

/** The annotations of a Dapr-enabled app. */
export function daprApp(appId: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId, 'dapr.io/app-port': '3000', ...extra };
}

export type MetadataItem =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly secretKeyRef: { readonly name: string; readonly key: string } };

/** A Dapr Component (dapr.io/v1alpha1). */
export function component(
  name: string,
  namespace: string,
  type: string,
  metadata: readonly MetadataItem[],
): KubeObject {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace },
    spec: { type, version: 'v1', metadata },
  };
}

/** A Redis state store whose password is written in plaintext: what component-plaintext-secrets refuses. */
export function redisWithPlaintextPassword(name: string, namespace: string, password: string): KubeObject {
  return component(name, namespace, 'state.redis', [
    { name: 'redisHost', value: 'redis-master:6379' },
    { name: 'redisPassword', value: password },
  ]);
}

/** The same store with the password taken from a Kubernetes Secret. */
export function redisWithSecretKeyRef(name: string, namespace: string): KubeObject {
  return component(name, namespace, 'state.redis', [
    { name: 'redisHost', value: 'redis-master:6379' },
    { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'redis-password' } },
  ]);
}

/** A password-like value that must never show up in any output. */
export function secretValue(): string {
  return `e2e-${randomBytes(12).toString('hex')}`;
}

/** Pod-template annotations of a stored Deployment (or a Pod's own annotations). */
export function podTemplateAnnotations(object: KubeObject): Record<string, string> {
  const spec = object['spec'] as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined;
  return { ...(spec?.template?.metadata?.annotations ?? {}) };
}

/** Only the given keys of an annotation map (absent keys left out). */
export function pick(annotations: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((key) => (annotations[key] === undefined ? [] : [[key, annotations[key]]])));
}

/** `deployment.apps`, `component.dapr.io`, `serviceaccount`: the resource as kubectl names it in `kind.group/name`. */
export function resourceOf(object: KubeObject): string {
  const kind = (object.kind ?? '').toLowerCase();
  const apiVersion = object.apiVersion ?? 'v1';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? kind : `${kind}.${apiVersion.slice(0, slash)}`;
}

/** A bare Pod with these annotations, as a user would create it without a controller. */
export function pod(name: string, namespace: string, annotations: Readonly<Record<string, string>>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: name }, annotations },
    spec: { containers: [{ name: 'app', image: 'ghcr.io/example/orders:1.0.0', ports: [{ containerPort: 3000 }] }] },
  };
}

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

export interface Container {
  readonly name: string;
  readonly resources?: ResourceRequirements;
  readonly restartPolicy?: string;
}

/** The containers and init containers of a stored Pod. */
export function podContainers(object: KubeObject): { containers: Container[]; initContainers: Container[] } {
  const spec = object['spec'] as { containers?: Container[]; initContainers?: Container[] } | undefined;
  return { containers: spec?.containers ?? [], initContainers: spec?.initContainers ?? [] };
}
