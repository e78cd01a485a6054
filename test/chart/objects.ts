/** Typed views of the chart's rendered objects, and the value sets the chart tests share. */
import assert from 'node:assert/strict';
import type { KubeObject } from '../support/helm.ts';
import { deepMerge } from '../../src/util/json.ts';

export const RELEASE = 'dapr-guard';
export const NAMESPACE = 'dapr-guard-system';

/** A PEM-shaped CA for tls.mode existingSecret (the chart only base64-encodes it). */
export const FAKE_CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfakefakefake\n-----END CERTIFICATE-----\n';

/** Values selecting each of the four TLS choices. */
export const TLS_CHOICES = {
  generate: {},
  certManager: { tls: { mode: 'certManager' } },
  existingSecret: {
    tls: { mode: 'existingSecret', existingSecret: { name: 'my-webhook-tls', caBundle: FAKE_CA_PEM } },
  },
  selfManaged: { tls: { mode: 'selfManaged' } },
} as const satisfies Record<string, Record<string, unknown>>;

export type TlsChoice = keyof typeof TLS_CHOICES;
export const TLS_CHOICE_NAMES = Object.keys(TLS_CHOICES) as TlsChoice[];

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface WebhookRule {
  readonly apiGroups: readonly string[];
  readonly apiVersions: readonly string[];
  readonly resources: readonly string[];
  readonly operations: readonly string[];
  readonly scope?: string;
}

export interface Webhook {
  readonly name: string;
  readonly admissionReviewVersions: readonly string[];
  readonly sideEffects: string;
  readonly failurePolicy: string;
  readonly reinvocationPolicy?: string;
  readonly matchPolicy?: string;
  readonly timeoutSeconds: number;
  readonly clientConfig: {
    readonly caBundle?: string;
    readonly service: {
      readonly name: string;
      readonly namespace: string;
      readonly path: string;
      readonly port: number;
    };
  };
  readonly rules: readonly WebhookRule[];
  readonly namespaceSelector?: LabelSelector;
  readonly objectSelector?: LabelSelector;
  readonly matchConditions?: readonly { readonly name: string; readonly expression: string }[];
}

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
  readonly ports?: readonly { readonly name: string; readonly containerPort: number }[];
  readonly livenessProbe?: {
    readonly httpGet?: { readonly path: string; readonly port: string | number; readonly scheme?: string };
  };
  readonly readinessProbe?: {
    readonly httpGet?: { readonly path: string; readonly port: string | number; readonly scheme?: string };
  };
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  readonly securityContext?: Readonly<Record<string, unknown>>;
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}

export interface Volume {
  readonly name: string;
  readonly secret?: { readonly secretName: string; readonly defaultMode?: number };
  readonly configMap?: { readonly name: string };
  readonly emptyDir?: Readonly<Record<string, unknown>>;
}

export interface PodSpec {
  readonly serviceAccountName: string;
  readonly automountServiceAccountToken?: boolean;
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: Readonly<Record<string, unknown>>;
  readonly topologySpreadConstraints?: readonly {
    readonly topologyKey: string;
    readonly whenUnsatisfiable: string;
    readonly maxSkew: number;
  }[];
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
}

export interface Deployment extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly strategy: {
      readonly type: string;
      readonly rollingUpdate: { readonly maxUnavailable: number | string; readonly maxSurge: number | string };
    };
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
    readonly template: {
      readonly metadata: {
        readonly labels: Readonly<Record<string, string>>;
        readonly annotations?: Readonly<Record<string, string>>;
      };
      readonly spec: PodSpec;
    };
  };
}

/** The one object of this kind (and name, when given); fails the test when there is not exactly one. */
export function findOne<T extends KubeObject = KubeObject>(
  objects: readonly KubeObject[],
  kind: string,
  name?: string,
): T {
  const found = findAll<T>(objects, kind).filter((object) => name === undefined || object.metadata?.name === name);
  assert.equal(
    found.length,
    1,
    `expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}: ${found.map((o) => o.metadata?.name).join(', ')}`,
  );
  return found[0] as T;
}

export function findAll<T extends KubeObject = KubeObject>(objects: readonly KubeObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as T[];
}

export function kinds(objects: readonly KubeObject[]): string[] {
  return objects.map((object) => `${object.kind}/${object.metadata?.name ?? ''}`).sort();
}

/** The webhooks of the (single) configuration of this kind. */
export function webhooksOf(
  objects: readonly KubeObject[],
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration',
): Webhook[] {
  const configuration = findOne(objects, kind);
  return [...((configuration['webhooks'] ?? []) as Webhook[])];
}

export function webhookNamed(
  objects: readonly KubeObject[],
  kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration',
  name: string,
): Webhook {
  const webhook = webhooksOf(objects, kind).find((candidate) => candidate.name === name);
  assert.ok(webhook, `${kind} has no webhook ${name}`);
  return webhook;
}

/** Every webhook entry of both configurations. */
export function allWebhooks(objects: readonly KubeObject[]): Webhook[] {
  return [
    ...webhooksOf(objects, 'MutatingWebhookConfiguration'),
    ...webhooksOf(objects, 'ValidatingWebhookConfiguration'),
  ];
}

export function deploymentOf(objects: readonly KubeObject[]): Deployment {
  return findOne<Deployment>(objects, 'Deployment');
}

export function containerOf(objects: readonly KubeObject[]): Container {
  const containers = deploymentOf(objects).spec.template.spec.containers;
  assert.equal(containers.length, 1);
  return containers[0] as Container;
}

export function rulesOf(object: KubeObject): PolicyRule[] {
  return [...((object['rules'] ?? []) as PolicyRule[])];
}

/** The config.yaml text of the ConfigMap <fullname>-config (tls.clientCA adds another ConfigMap). */
export function configText(objects: readonly KubeObject[]): string {
  const configMaps = findAll(objects, 'ConfigMap').filter(
    (object) => object.metadata?.name?.endsWith('-config') === true,
  );
  assert.equal(configMaps.length, 1, 'one <fullname>-config ConfigMap');
  const configMap = configMaps[0] as KubeObject;
  const data = configMap['data'] as Readonly<Record<string, string>> | undefined;
  const text = data?.['config.yaml'];
  assert.equal(typeof text, 'string', 'ConfigMap has no config.yaml');
  return text as string;
}

/** Deep-merges value objects (later wins), for combining TLS_CHOICES with other values. */
export function mergeValues(...layers: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  return layers.reduce<Record<string, unknown>>((merged, layer) => deepMerge(merged, layer), {});
}
