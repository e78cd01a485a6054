import type { Mode } from '../admission/mode.ts';
import type { KubeObject } from '../admission/wire.ts';

/** Where a finding is: the object a user fixes (a Deployment rather than each of its Pods). */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  /** Undefined for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/**
 * error: the webhook would deny it now, or it is broken (an expired certificate); warning: it would be
 * changed or warned about, or needs attention; info: recorded only (audit mode).
 */
export type Severity = 'error' | 'warning' | 'info';

export interface AuditFinding {
  readonly ruleId: string;
  /** A violation of a rule (or an audit check), or a change the mutating webhook would make. */
  readonly kind: 'violation' | 'mutation';
  /** The rule's mode for this object; an audit check's error is `enforce`, its warning `warn`. */
  readonly mode: Mode;
  readonly severity: Severity;
  /** Undefined for a finding about the cluster as a whole (too few nodes). */
  readonly object?: ObjectRef;
  /** `what is wrong — how to fix`; never contains a secret value. */
  readonly message: string;
  /** The command or change that fixes it, when there is one to give. */
  readonly remedy?: string;
}

/** Everything an audit run found, and what it could not look at. */
export interface AuditResult {
  readonly findings: readonly AuditFinding[];
  /** Kinds the cluster does not serve, and other things worth saying once that are not a failure. */
  readonly notes: readonly string[];
  /** Permissions that are missing, lists that failed: the audit is incomplete. Each said once. */
  readonly problems: readonly string[];
  /** Every object the review core reviewed, in list order (its findings are in `findings`). */
  readonly objects: readonly ObjectRef[];
  /** Objects listed, by kind. */
  readonly listed: Readonly<Record<string, number>>;
  /** Objects that went through the review core, by namespace ('' for cluster-scoped ones). */
  readonly reviewed: Readonly<Record<string, number>>;
}

const MAX_NAME_LENGTH = 253;

/** The reference of a listed object; `kind`/`apiVersion` come from the list (items of a list may omit them). */
export function refOf(object: KubeObject, kind: string, apiVersion: string): ObjectRef {
  const metadata = object.metadata ?? {};
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  const uid = typeof metadata['uid'] === 'string' ? metadata['uid'] : undefined;
  return {
    apiVersion,
    kind,
    ...(namespace === undefined ? {} : { namespace }),
    name: String(metadata.name ?? '').slice(0, MAX_NAME_LENGTH),
    ...(uid === undefined ? {} : { uid }),
  };
}

/** `Deployment shop/orders`, `ClusterRoleBinding dapr-operator`: for messages. */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace === undefined ? `${ref.kind} ${ref.name}` : `${ref.kind} ${ref.namespace}/${ref.name}`;
}

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { error: 0, warning: 1, info: 2 };

/** Errors first, then by namespace, object and rule: a stable order for every output. */
export function compareFindings(a: AuditFinding, b: AuditFinding): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || sortKeyOf(a).localeCompare(sortKeyOf(b));
}

function sortKeyOf(finding: AuditFinding): string {
  const object = finding.object;
  return [object?.namespace ?? '', object?.kind ?? '', object?.name ?? '', finding.ruleId].join('\u0000');
}

/** An audit check's finding: `error` is what the webhook would deny (`enforce`), `warning` a `warn`. */
export function checkFinding(
  fields: Omit<AuditFinding, 'kind' | 'mode' | 'severity'> & { readonly severity: 'error' | 'warning' },
): AuditFinding {
  return { ...fields, kind: 'violation', mode: fields.severity === 'error' ? 'enforce' : 'warn' };
}

/** `Deployment/shop/orders`: one key per object. */
export function refKeyOf(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}
