/**
 * The chart's own webhook registration, pointed at a dapr-guard process on this machine.
 *
 * `helm template` renders charts/dapr-guard with the cluster's Kubernetes version (so that
 * matchConditions are rendered only where the API server knows them: 1.28+; on the 1.20 harness
 * they are left out by the chart itself). The MutatingWebhookConfiguration and the
 * ValidatingWebhookConfiguration are kept exactly as rendered (names, rules, selectors,
 * failurePolicy, timeouts, sideEffects) except for each entry's clientConfig: `service` becomes
 * `url: https://<host>:<port><service.path>` and caBundle the CA of the running process, because a
 * Service cannot route to loopback (no kube-proxy, Endpoints may not point at 127.0.0.0/8).
 */
import type { KubeObject } from '../../../src/admission/wire.ts';
import type { Mode } from '../../../src/admission/mode.ts';
import { helmTemplate } from '../../support/helm.ts';
import type { ClusterInfo } from './cluster.ts';
import type { DaprGuard } from './dapr-guard.ts';
import { toManifest, type Kubectl } from './kubectl.ts';

/** Release name and namespace of the rendering. Not "dapr-guard", so that a real installation on an existing cluster is left alone. */
export const RELEASE = { name: 'e2e', namespace: 'dapr-guard-e2e' } as const;

/** The webhook entry names the chart registers (API server messages and audit keys use them). */
export const WEBHOOK = {
  mutate: 'mutate.dapr-guard.io',
  workloads: 'workloads.validate.dapr-guard.io',
  daprResources: 'dapr-resources.validate.dapr-guard.io',
  controlPlane: 'control-plane.validate.dapr-guard.io',
  cluster: 'cluster.validate.dapr-guard.io',
  trustBundle: 'trust-bundle.validate.dapr-guard.io',
  namespaceLabels: 'namespace-labels.validate.dapr-guard.io',
} as const;

const CONFIGURATION_KINDS = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

interface ServiceReference {
  readonly path?: string;
}

interface WebhookEntry {
  readonly name: string;
  readonly clientConfig: { readonly service?: ServiceReference; readonly url?: string; readonly caBundle?: string };
  readonly [field: string]: unknown;
}

export interface Registration {
  /** The two configurations as applied. */
  readonly objects: readonly KubeObject[];
  /** `MutatingWebhookConfiguration/dapr-guard-e2e` and the validating one, for kubectl delete. */
  readonly references: readonly string[];
}

/**
 * Renders the chart's webhook configurations for this mode (which sets the Dapr resources' failurePolicy)
 * and any more `values`, and points them at `guard`.
 */
export function renderRegistration(
  cluster: ClusterInfo,
  guard: DaprGuard,
  mode: Mode,
  values: Record<string, unknown> = {},
): Registration {
  const rendered = helmTemplate({
    releaseName: RELEASE.name,
    namespace: RELEASE.namespace,
    kubeVersion: cluster.serverVersion,
    values: { ...values, mode },
  });
  const objects = rendered
    .filter((object) => CONFIGURATION_KINDS.has(object.kind ?? ''))
    .map((object) => pointAt(object, cluster, guard));
  if (objects.length !== 2)
    throw new Error(
      `expected the chart to render one Mutating- and one ValidatingWebhookConfiguration, got ${objects.length}`,
    );
  return { objects, references: objects.map((object) => `${object.kind ?? ''}/${object.metadata?.name ?? ''}`) };
}

/** kubectl apply of the rendered configurations. */
export async function register(kubectl: Kubectl, registration: Registration): Promise<void> {
  await kubectl.ok(['apply', '-f', '-'], { input: toManifest(registration.objects) });
}

export async function unregister(kubectl: Kubectl, registration: Registration): Promise<void> {
  await kubectl.ok(['delete', ...registration.references, '--ignore-not-found']);
}

function pointAt(object: KubeObject, cluster: ClusterInfo, guard: DaprGuard): KubeObject {
  const webhooks = object['webhooks'];
  if (!Array.isArray(webhooks)) throw new Error(`${object.kind ?? ''} ${object.metadata?.name ?? ''} has no webhooks`);
  return {
    ...object,
    webhooks: (webhooks as WebhookEntry[]).map((entry) => {
      const path = entry.clientConfig.service?.path;
      if (path === undefined) throw new Error(`webhook ${entry.name} has no clientConfig.service.path`);
      return {
        ...entry,
        clientConfig: { url: guard.url(cluster, path), caBundle: Buffer.from(guard.caPem).toString('base64') },
      };
    }),
  };
}
