/**
 * The chart's native admission policies (values nativePolicies) on the e2e cluster, with no webhook:
 * rendered with the API versions the cluster serves (as `helm install` would see them through
 * discovery), applied with their parameter ConfigMap, waited for (the API server loads policies
 * asynchronously), and removed again.
 */
import type { KubeObject } from '../../../src/admission/wire.ts';
import { helmTemplate } from '../../support/helm.ts';
import type { ClusterInfo } from './cluster.ts';
import { describeResult, toManifest, type Kubectl } from './kubectl.ts';
import { namespaceObject, pod } from './objects.ts';
import { eventually } from './wait.ts';

/** Release of the rendering: its own, so that a scenario's webhook registration is left alone. */
export const NATIVE_RELEASE = { name: 'native', namespace: 'dapr-guard-native' } as const;

export const VAP_KIND = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
export const MAP_KIND = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';

const POLICY_KINDS = new Set([
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
]);

/** The kinds of admissionregistration.k8s.io/v1 the API server serves, as `helm install` would see them. */
export async function servedAdmissionKinds(cluster: ClusterInfo, kubectl: Kubectl): Promise<string[]> {
  const versions = [...cluster.apiVersions];
  const group = await kubectl.run(['get', '--raw', '/apis/admissionregistration.k8s.io/v1']);
  if (group.code !== 0) return versions;
  const resources = (JSON.parse(group.stdout) as { resources: { name: string; kind: string }[] }).resources;
  return [
    ...versions,
    ...resources
      .filter((resource) => !resource.name.includes('/'))
      .map((resource) => `admissionregistration.k8s.io/v1/${resource.kind}`),
  ];
}

export interface NativePolicies {
  /** The parameter ConfigMap, the policies and their bindings, as rendered. */
  readonly objects: readonly KubeObject[];
  readonly servesValidating: boolean;
  readonly servesMutating: boolean;
}

/** The chart's native policies (and nothing else) for these values, with nativePolicies.enabled. */
export async function renderNativePolicies(
  cluster: ClusterInfo,
  kubectl: Kubectl,
  values: Readonly<Record<string, unknown>> = {},
): Promise<NativePolicies> {
  const served = await servedAdmissionKinds(cluster, kubectl);
  const rendered = helmTemplate({
    releaseName: NATIVE_RELEASE.name,
    namespace: NATIVE_RELEASE.namespace,
    kubeVersion: cluster.serverVersion,
    apiVersions: served,
    values: { ...values, nativePolicies: { enabled: true } },
  });
  const objects = rendered.filter(
    (object) =>
      (POLICY_KINDS.has(object.kind ?? '') && object.metadata?.labels?.['dapr-guard.io/rule'] !== undefined) ||
      (object.kind === 'ConfigMap' && object.metadata?.name?.endsWith('-native-policies') === true),
  );
  return { objects, servesValidating: served.includes(VAP_KIND), servesMutating: served.includes(MAP_KIND) };
}

/**
 * Applies the policies and waits until the API server enforces them: a Dapr Pod with an invalid
 * quantity is refused by the ValidatingAdmissionPolicy and, where served, a Dapr Pod is given the
 * sidecar annotations by the MutatingAdmissionPolicy.
 */
export async function installNativePolicies(
  kubectl: Kubectl,
  policies: NativePolicies,
  probeNamespace: string,
): Promise<void> {
  // A previous file's removeNativePolicies does not wait; a terminating namespace takes no new objects.
  await kubectl.ok(['wait', '--for=delete', `namespace/${NATIVE_RELEASE.namespace}`, '--timeout=120s']);
  await kubectl.ok(['apply', '-f', '-'], { input: toManifest(namespaceObject(NATIVE_RELEASE.namespace)) });
  await kubectl.ok(['apply', '-f', '-'], { input: toManifest(policies.objects) });
  let probes = 0;
  await eventually(
    async () => {
      probes += 1;
      const refused = await kubectl.create(
        pod(`native-probe-${probes}`, probeNamespace, {
          'dapr.io/enabled': 'true',
          'dapr.io/sidecar-cpu-limit': 'lots',
        }),
        ['--dry-run=server', '-o', 'json'],
      );
      if (!refused.stderr.includes('ValidatingAdmissionPolicy')) return undefined;
      if (!policies.servesMutating) return true;
      const defaulted = await kubectl.create(
        pod(`native-probe-${probes}`, probeNamespace, { 'dapr.io/enabled': 'true' }),
        ['--dry-run=server', '-o', 'json'],
      );
      if (defaulted.code !== 0) throw new Error(describeResult('dry run of the probe Pod', defaulted));
      const annotations = (JSON.parse(defaulted.stdout) as KubeObject).metadata?.annotations ?? {};
      return 'dapr.io/sidecar-cpu-request' in annotations ? true : undefined;
    },
    { description: 'the native admission policies to take effect' },
  );
}

export async function removeNativePolicies(kubectl: Kubectl, policies: NativePolicies): Promise<void> {
  if (policies.objects.length > 0)
    await kubectl.ok(['delete', '-f', '-', '--ignore-not-found', '--wait=false'], {
      input: toManifest(policies.objects),
    });
  await kubectl.ok(['delete', 'namespace', NATIVE_RELEASE.namespace, '--ignore-not-found', '--wait=false']);
}

/** The names of the webhook configurations registered now (a test with policies only expects none of dapr-guard's). */
export async function webhookConfigurations(kubectl: Kubectl): Promise<string[]> {
  const result = await kubectl.ok([
    'get',
    'mutatingwebhookconfigurations,validatingwebhookconfigurations',
    '-o',
    'name',
  ]);
  return result.stdout.split('\n').filter((line) => line !== '');
}
