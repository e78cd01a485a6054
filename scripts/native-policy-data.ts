/**
 * The data the chart's native admission policies read from their parameter ConfigMap, built from the
 * webhook's own tables (src/rules): the declared sensitive metadata fields per component type (with the
 * aliases daprd accepts) and the credential-name heuristic. Writes charts/dapr-guard/files/native-policy-data.json:
 *
 *   npx node scripts/native-policy-data.ts
 *
 * test/chart/native-policies.test.ts checks that the committed file equals `nativePolicyData()`, so the
 * chart's copy cannot drift from the rules.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DECLARED_SENSITIVE_FIELDS } from '../src/rules/data/sensitive-fields.ts';
import {
  CREDENTIAL_NAMES,
  CREDENTIAL_TERMS,
  HEADER_PREFIX,
  NOT_CREDENTIAL_NAMES,
  NOT_CREDENTIAL_PARTS,
  NOT_CREDENTIAL_SUFFIXES,
} from '../src/rules/support/credentials.ts';
import {
  APP_LABELLED_KINDS,
  APP_SERVICE_LABEL,
  CLUSTER_ROLE_BINDING_NAMES,
  CONTROL_PLANE_ANNOTATION,
  CONTROL_PLANE_WORKLOADS,
  INJECTOR_WEBHOOK_CONFIGURATION,
  NAMESPACED_OBJECT_NAMES,
} from '../src/rules/support/control-plane.ts';
import { declaredSensitiveFields, NOT_SECRET_FIELDS } from '../src/rules/support/sensitive-fields.ts';

export const NATIVE_POLICY_DATA_FILE = fileURLToPath(
  new URL('../charts/dapr-guard/files/native-policy-data.json', import.meta.url),
);

/** ConfigMap keys and list items: the policies split the lists on `,`. */
const KEY = /^[-.\w]+$/;

export interface NativePolicyData {
  readonly generatedBy: string;
  readonly credentialTerms: readonly string[];
  readonly notCredentialSuffixes: readonly string[];
  readonly notCredentialParts: readonly string[];
  readonly notCredentialNames: readonly string[];
  readonly credentialNames: readonly string[];
  readonly headerPrefix: string;
  /** Lower-cased component type → lower-cased sensitive field names (declared and their aliases). */
  readonly sensitiveFields: Readonly<Record<string, readonly string[]>>;
  /** Lower-cased component type → names the heuristic would flag that hold no secret there. */
  readonly notSecretFields: Readonly<Record<string, readonly string[]>>;
  /** How the control-plane-namespace rule recognises the Dapr chart's objects (src/rules/support/control-plane.ts). */
  readonly controlPlane: {
    readonly annotation: string;
    readonly appServiceLabel: string;
    /** [service, kind, name] per control-plane workload. */
    readonly workloads: readonly (readonly [string, string, string])[];
    readonly namespacedObjectNames: Readonly<Record<string, readonly string[]>>;
    readonly appLabelledKinds: readonly string[];
    readonly clusterRoleBindingNames: readonly string[];
    /** The sidecar injector's MutatingWebhookConfiguration (also its `app` label: the injector workload). */
    readonly injectorWebhookConfiguration: string;
  };
}

export function nativePolicyData(): NativePolicyData {
  const types = Object.keys(DECLARED_SENSITIVE_FIELDS).sort();
  return {
    generatedBy: 'scripts/native-policy-data.ts from src/rules (do not edit)',
    credentialTerms: checked([...CREDENTIAL_TERMS]),
    notCredentialSuffixes: checked([...NOT_CREDENTIAL_SUFFIXES]),
    notCredentialParts: checked([...NOT_CREDENTIAL_PARTS]),
    notCredentialNames: checked([...NOT_CREDENTIAL_NAMES].sort()),
    credentialNames: checked([...CREDENTIAL_NAMES].sort()),
    headerPrefix: HEADER_PREFIX,
    sensitiveFields: Object.fromEntries(
      types.map((type) => [checkedKey(type), checked([...declaredSensitiveFields(type)].sort())]),
    ),
    notSecretFields: Object.fromEntries(
      Object.entries(NOT_SECRET_FIELDS).map(([type, names]) => [checkedKey(type), checked([...names])]),
    ),
    controlPlane: {
      annotation: CONTROL_PLANE_ANNOTATION,
      appServiceLabel: APP_SERVICE_LABEL,
      workloads: Object.entries(CONTROL_PLANE_WORKLOADS).map(([service, workload]) => [
        service,
        workload.kind,
        workload.name,
      ]),
      namespacedObjectNames: Object.fromEntries(
        Object.entries(NAMESPACED_OBJECT_NAMES).map(([kind, names]) => [kind, [...names].sort()]),
      ),
      appLabelledKinds: [...APP_LABELLED_KINDS].sort(),
      clusterRoleBindingNames: [...CLUSTER_ROLE_BINDING_NAMES].sort(),
      injectorWebhookConfiguration: INJECTOR_WEBHOOK_CONFIGURATION,
    },
  };
}

function checkedKey(key: string): string {
  if (!KEY.test(key) || key !== key.toLowerCase()) throw new Error(`${key} cannot be a ConfigMap key`);
  return key;
}

function checked(items: readonly string[]): readonly string[] {
  for (const item of items) if (item.includes(',') || item === '') throw new Error(`"${item}" cannot be listed`);
  return items;
}

export function renderNativePolicyData(): string {
  return `${JSON.stringify(nativePolicyData(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  writeFileSync(NATIVE_POLICY_DATA_FILE, renderNativePolicyData());
