import type { KubeObject } from '../admission/wire.ts';
import type { Finding, RuleContext, ValidatingRule } from './rule.ts';
import {
  CONTROL_PLANE_KINDS,
  isControlPlaneClusterRoleBinding,
  isInjectorWebhookConfiguration,
  isNamespacedControlPlaneObject,
  serviceAccountSubjects,
  webhookServiceNamespaces,
} from './support/control-plane.ts';
import { describeObject, hasControllerOwner, quoted } from './support/objects.ts';

export const CONTROL_PLANE_NAMESPACE_RULE_ID = 'control-plane-namespace';

const FORBIDDEN_NAMESPACE = 'default';
const HOW_TO_FIX =
  'install Dapr in its own namespace: helm install dapr dapr/dapr --namespace dapr-system --create-namespace';

/**
 * Keeps the Dapr control plane out of namespace `default`, where every user's workloads run:
 * a Pod there could use the control plane's ServiceAccounts and their cluster-wide rights.
 */
export function controlPlaneNamespaceRule(): ValidatingRule {
  return {
    id: CONTROL_PLANE_NAMESPACE_RULE_ID,
    type: 'validating',
    description:
      'Refuses Dapr control-plane objects in namespace default (production guidelines: a namespace of its own such as dapr-system).',
    defaultMode: 'enforce',
    kinds: CONTROL_PLANE_KINDS,
    validate: findControlPlaneInDefault,
  };
}

function findControlPlaneInDefault(context: RuleContext): Finding[] {
  const problem = problemOf(context.object, context);
  if (problem === undefined) return [];
  return [{ message: `${problem} — ${HOW_TO_FIX}`, ...(isExisting(context) ? { maxMode: 'warn' } : {}) }];
}

/** What is wrong with `object`, or undefined when it is not a control-plane object placed in `default`. */
function problemOf(object: KubeObject, context: RuleContext): string | undefined {
  const kind = context.request.kind;
  const described = describeObject(kind.kind, object);
  if (context.namespace !== undefined) {
    const misplaced = context.namespace === FORBIDDEN_NAMESPACE && isNamespacedControlPlaneObject(object, kind);
    return misplaced ? `Dapr control-plane ${described} must not be in namespace "${FORBIDDEN_NAMESPACE}"` : undefined;
  }
  if (isInjectorWebhookConfiguration(object, kind) && webhookServiceNamespaces(object).includes(FORBIDDEN_NAMESPACE)) {
    return `Dapr ${described} calls a Service in namespace "${FORBIDDEN_NAMESPACE}"`;
  }
  if (isControlPlaneClusterRoleBinding(object, kind)) {
    const subject = serviceAccountSubjects(object).find((candidate) => candidate.namespace === FORBIDDEN_NAMESPACE);
    if (subject !== undefined) {
      return `Dapr ${described} grants cluster rights to ServiceAccount ${quoted(`${FORBIDDEN_NAMESPACE}/${subject.name}`, 28)}`;
    }
  }
  return undefined;
}

/**
 * Control-plane objects that already run in `default` (installed before dapr-guard) only get a
 * warning: refusing Sentry's trust-bundle updates, the injector's caBundle patch, or the
 * ReplicaSets and Pods that controllers create for an existing workload would take down or
 * freeze a working control plane instead of moving it. Their owner was reviewed already.
 */
function isExisting(context: RuleContext): boolean {
  if (hasControllerOwner(context.object)) return true;
  return (
    context.request.operation === 'UPDATE' &&
    context.oldObject !== undefined &&
    problemOf(context.oldObject, context) !== undefined
  );
}
