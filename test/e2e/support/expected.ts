/**
 * What users read: dapr-guard's messages for the objects the scenarios apply, and the way kubectl
 * and the API server frame them. Written out here (not imported from src/) so that a change in
 * wording is a visible change in the tests.
 */

/** component-plaintext-secrets, for a Component metadata item without a secret store. */
export function plaintextSecretMessage(component: string, field: string): string {
  return `Component "${component}": spec.metadata ${field} is a plaintext secret — use secretKeyRef: {name: <secret>, key: ${field}} (Kubernetes Secret or auth.secretStore)`;
}

/** api-token, for a Dapr-enabled workload without dapr.io/api-token-secret. */
export function apiTokenMessage(kind: string, name: string): string {
  return `${kind} "${name}" has no dapr.io/api-token-secret — create a Secret with key "token" and name it in that annotation so that calls to the Dapr API need the token`;
}

const CONTROL_PLANE_FIX =
  'install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace';

/** control-plane-namespace, for a namespaced Dapr control-plane object in `default`. */
export function controlPlaneInDefaultMessage(kind: string, name: string): string {
  return `Dapr control-plane ${kind} "${name}" must not be in namespace "default" — ${CONTROL_PLANE_FIX}`;
}

/** control-plane-namespace, for a Dapr ClusterRoleBinding whose ServiceAccount is in `default`. */
export function controlPlaneBindingMessage(name: string, serviceAccount: string): string {
  return `Dapr ClusterRoleBinding "${name}" grants cluster rights to ServiceAccount "default/${serviceAccount}" — ${CONTROL_PLANE_FIX}`;
}

/** The line kubectl prints when a validating webhook denies a create from `-f -`. */
export function deniedCreateLine(webhook: string, ruleId: string, message: string): string {
  return `Error from server (Forbidden): error when creating "STDIN": admission webhook "${webhook}" denied the request: [${ruleId}] ${message}`;
}

/** A warning as kubectl prints it. */
export function warningLine(ruleId: string, message: string): string {
  return `Warning: [${ruleId}] ${message}`;
}

/** Lines of a command's output, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}
