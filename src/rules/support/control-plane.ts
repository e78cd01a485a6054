import type { GroupVersionKind } from '../../admission/wire.ts';
import { asArray, asRecord, asString, stringMap } from './json.ts';
import { kindNameOf, podMetadataOf, POD_KINDS } from './workloads.ts';

/**
 * How to recognise the objects of the Dapr Helm chart (dapr/dapr charts/dapr) in a review, by
 * what the templates hard-code: object names per kind, the `app` label and the pod annotation
 * `dapr.io/control-plane`. Never by the `app.kubernetes.io/*` labels: they come from the
 * `global.k8sLabels` value, which users change.
 */

/** The pod annotation that marks control-plane Pods; Sentry checks it before issuing their identity. */
export const CONTROL_PLANE_ANNOTATION = 'dapr.io/control-plane';

/** The values of `dapr.io/control-plane` that Sentry recognises. */
export type ControlPlaneService = 'operator' | 'injector' | 'sentry' | 'placement' | 'scheduler';

export interface ControlPlaneWorkload {
  readonly kind: 'Deployment' | 'StatefulSet';
  /** Also the `app` label of the workload, its pod template, and the chart objects around it. */
  readonly name: string;
}

export const CONTROL_PLANE_WORKLOADS: Readonly<Record<ControlPlaneService, ControlPlaneWorkload>> = {
  operator: { kind: 'Deployment', name: 'dapr-operator' },
  injector: { kind: 'Deployment', name: 'dapr-sidecar-injector' },
  sentry: { kind: 'Deployment', name: 'dapr-sentry' },
  placement: { kind: 'StatefulSet', name: 'dapr-placement-server' },
  scheduler: { kind: 'StatefulSet', name: 'dapr-scheduler-server' },
};

const SERVICES = Object.keys(CONTROL_PLANE_WORKLOADS) as ControlPlaneService[];

/** ServiceAccounts, and the Roles, RoleBindings and ClusterRoleBindings named after them. */
const SERVICE_ACCOUNTS = ['dapr-operator', 'dapr-injector', 'dapr-sentry', 'dapr-placement', 'dapr-scheduler'];

/**
 * Names of the chart's namespaced objects, by `group/kind`. Role `secret-reader` and RoleBinding
 * `dapr-secret-reader` are left out on purpose: the chart puts them in `default` by design.
 */
export const NAMESPACED_OBJECT_NAMES: Readonly<Record<string, ReadonlySet<string>>> = {
  'apps/Deployment': new Set(['dapr-operator', 'dapr-sidecar-injector', 'dapr-sentry']),
  'apps/StatefulSet': new Set(['dapr-placement-server', 'dapr-scheduler-server']),
  '/Service': new Set([
    'dapr-api',
    'dapr-webhook',
    'dapr-sidecar-injector',
    'dapr-sentry',
    'dapr-placement-server',
    'dapr-scheduler-server',
    'dapr-scheduler-server-a',
  ]),
  '/ServiceAccount': new Set(SERVICE_ACCOUNTS),
  '/Secret': new Set(['dapr-trust-bundle']),
  '/ConfigMap': new Set(['dapr-trust-bundle']),
  'rbac.authorization.k8s.io/Role': new Set(SERVICE_ACCOUNTS),
  'rbac.authorization.k8s.io/RoleBinding': new Set(SERVICE_ACCOUNTS),
  'policy/PodDisruptionBudget': new Set([
    'dapr-operator-disruption-budget',
    'dapr-sidecar-injector-disruption-budget',
    'dapr-sentry-budget',
    'dapr-placement-server-disruption-budget',
    'dapr-scheduler-server-disruption-budget',
  ]),
  'dapr.io/Configuration': new Set(['daprsystem']),
};

/** Kinds whose chart objects carry the hard-coded `app` label (Secret/ConfigMap: `app: dapr-sentry`). */
export const APP_LABELLED_KINDS = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  '/Service',
  '/Secret',
  '/ConfigMap',
  'policy/PodDisruptionBudget',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
]);

const INJECTOR_CONFIGURATION_KIND = 'admissionregistration.k8s.io/MutatingWebhookConfiguration';
const CLUSTER_ROLE_BINDING_KIND = 'rbac.authorization.k8s.io/ClusterRoleBinding';

/** Every kind a control-plane object can be (by kind name): what control-plane-namespace reviews. */
export const CONTROL_PLANE_KINDS: readonly string[] = [
  ...new Set([
    ...POD_KINDS,
    ...[...Object.keys(NAMESPACED_OBJECT_NAMES), ...APP_LABELLED_KINDS].map(kindNameOf),
    kindNameOf(INJECTOR_CONFIGURATION_KIND),
    kindNameOf(CLUSTER_ROLE_BINDING_KIND),
  ]),
];

const APP_LABELS = new Set(SERVICES.map((service) => CONTROL_PLANE_WORKLOADS[service].name));

export const CLUSTER_ROLE_BINDING_NAMES = new Set([
  'dapr-operator-admin',
  'dapr-injector',
  'dapr-sentry',
  'dapr-placement',
  'dapr-scheduler',
]);

export const INJECTOR_WEBHOOK_CONFIGURATION = 'dapr-sidecar-injector';

/** The dashboard is a chart of its own (dapr/dashboard), not part of the control plane chart. */
export const DASHBOARD_DEPLOYMENT = 'dapr-dashboard';

/** The label the Dapr operator puts on the `<app-id>-dapr` Services it creates next to apps. */
export const APP_SERVICE_LABEL = 'dapr.io/enabled';

function groupKind(kind: GroupVersionKind): string {
  return `${kind.group}/${kind.kind}`;
}

function metadataOf(object: unknown): { readonly name: string; readonly labels: Readonly<Record<string, string>> } {
  const metadata = asRecord(asRecord(object)?.['metadata']);
  return { name: asString(metadata?.['name']) ?? '', labels: stringMap(metadata?.['labels']) };
}

function isService(value: string | undefined): value is ControlPlaneService {
  return value !== undefined && (SERVICES as readonly string[]).includes(value);
}

/**
 * The control-plane service a Deployment, StatefulSet or Pod (or any pod-creating object) runs:
 * from the pod annotation `dapr.io/control-plane`, or for Deployments and StatefulSets from the
 * chart's name or `app` label.
 */
export function controlPlaneServiceOf(object: unknown, kind: GroupVersionKind): ControlPlaneService | undefined {
  const pod = podMetadataOf(object, kind);
  if (pod === undefined) return undefined;
  const annotated = pod.annotations[CONTROL_PLANE_ANNOTATION];
  if (isService(annotated)) return annotated;
  if (kind.group !== 'apps') return undefined;
  const { name, labels } = metadataOf(object);
  return SERVICES.find((service) => {
    const workload = CONTROL_PLANE_WORKLOADS[service];
    return workload.kind === kind.kind && (workload.name === name || workload.name === labels['app']);
  });
}

/** True for the namespaced objects of the control-plane chart (workloads, their Pods, Services, RBAC…). */
export function isNamespacedControlPlaneObject(object: unknown, kind: GroupVersionKind): boolean {
  if (controlPlaneServiceOf(object, kind) !== undefined) return true;
  const { name, labels } = metadataOf(object);
  if (kind.group === '' && kind.kind === 'Service' && labels[APP_SERVICE_LABEL] !== undefined) return false;
  const key = groupKind(kind);
  if (NAMESPACED_OBJECT_NAMES[key]?.has(name) === true) return true;
  return APP_LABELLED_KINDS.has(key) && APP_LABELS.has(labels['app'] ?? '');
}

/** True for the sidecar injector's MutatingWebhookConfiguration (chart name or `app` label). */
export function isInjectorWebhookConfiguration(object: unknown, kind: GroupVersionKind): boolean {
  if (groupKind(kind) !== INJECTOR_CONFIGURATION_KIND) return false;
  const { name, labels } = metadataOf(object);
  return name === INJECTOR_WEBHOOK_CONFIGURATION || labels['app'] === CONTROL_PLANE_WORKLOADS.injector.name;
}

/** The namespaces of the Services a webhook configuration calls (`webhooks[].clientConfig.service.namespace`). */
export function webhookServiceNamespaces(object: unknown): string[] {
  return asArray(asRecord(object)?.['webhooks']).flatMap((webhook) => {
    const service = asRecord(asRecord(asRecord(webhook)?.['clientConfig'])?.['service']);
    const namespace = asString(service?.['namespace']);
    return namespace === undefined ? [] : [namespace];
  });
}

/** True for a ClusterRoleBinding with one of the chart's names. */
export function isControlPlaneClusterRoleBinding(object: unknown, kind: GroupVersionKind): boolean {
  return groupKind(kind) === CLUSTER_ROLE_BINDING_KIND && CLUSTER_ROLE_BINDING_NAMES.has(metadataOf(object).name);
}

export interface ServiceAccountSubject {
  readonly name: string;
  readonly namespace: string;
}

/** The ServiceAccount subjects of a (Cluster)RoleBinding that name their namespace. */
export function serviceAccountSubjects(object: unknown): ServiceAccountSubject[] {
  return asArray(asRecord(object)?.['subjects']).flatMap((subject) => {
    const record = asRecord(subject);
    const name = asString(record?.['name']);
    const namespace = asString(record?.['namespace']);
    return record?.['kind'] === 'ServiceAccount' && name !== undefined && namespace !== undefined
      ? [{ name, namespace }]
      : [];
  });
}

/** True for the Dapr dashboard's Deployment (name or `app` label `dapr-dashboard`). */
export function isDashboardDeployment(object: unknown, kind: GroupVersionKind): boolean {
  if (groupKind(kind) !== 'apps/Deployment') return false;
  const { name, labels } = metadataOf(object);
  return name === DASHBOARD_DEPLOYMENT || labels['app'] === DASHBOARD_DEPLOYMENT;
}
