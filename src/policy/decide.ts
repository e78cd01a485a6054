import { encodePatch } from '../admission/json-patch.ts';
import { denied, patched, withAuditAnnotations, withWarnings } from '../admission/responses.ts';
import type { AdmissionResponse } from '../admission/wire.ts';
import type { Evaluation, Mutation, Violation } from './evaluation.ts';

/** The API server truncates longer warnings (k8s.io/apiserver/pkg/warning). */
export const MAX_WARNING_LENGTH = 256;
/** Audit annotation values end up in every audit event of the request; keep them readable. */
const MAX_AUDIT_VALUE_LENGTH = 1024;

/**
 * The one place where modes become a response.
 * enforce: deny (403) with every enforced message; warn: allow with one warning per violation;
 * audit: allow with no warning and no patch, recording what would have happened in auditAnnotations.
 */
export function decide(uid: string, evaluation: Evaluation): AdmissionResponse {
  const enforced = evaluation.violations.filter((violation) => violation.mode === 'enforce');
  const warned = evaluation.violations.filter((violation) => violation.mode === 'warn');
  const base =
    enforced.length > 0
      ? denied(uid, enforced.map(formatMessage).join('\n'))
      : patched(uid, encodePatch(evaluation.patch));
  const warnings = [...warned.map(formatMessage), ...evaluation.notices].map(truncateWarning);
  return withAuditAnnotations(withWarnings(base, warnings), auditAnnotations(evaluation));
}

/** `[rule-id] what is wrong — how to fix` */
export function formatMessage(violation: Pick<Violation, 'ruleId' | 'message'>): string {
  return `[${violation.ruleId}] ${violation.message}`;
}

export function truncateWarning(warning: string): string {
  return warning.length <= MAX_WARNING_LENGTH ? warning : `${warning.slice(0, MAX_WARNING_LENGTH - 1)}…`;
}

/**
 * Keys are bare rule ids: the API server stores them as `<webhook name>/<rule-id>`
 * (for example `validate.dapr-guard.io/mtls-enabled`) and drops keys that already contain `/`.
 */
function auditAnnotations(evaluation: Evaluation): Record<string, string> {
  if (evaluation.exemptions.length === 0 && !evaluation.violations.some(isAudited) && !evaluation.mutations.some(isAudited)) return {};
  const grouped = new Map<string, string[]>();
  const add = (key: string, value: string): void => {
    grouped.set(key, [...(grouped.get(key) ?? []), value]);
  };
  for (const violation of evaluation.violations) {
    if (violation.mode === 'audit') add(violation.ruleId, violation.message);
  }
  for (const mutation of evaluation.mutations) {
    if (mutation.mode === 'audit') add(mutation.ruleId, describeSkippedMutation(mutation));
  }
  for (const exemption of evaluation.exemptions) add(`exempt.${exemption.ruleId}`, exemption.reason);
  return Object.fromEntries([...grouped].map(([key, values]) => [key, truncateAuditValue(values.join('; '))]));
}

function isAudited(finding: { readonly mode: string }): boolean {
  return finding.mode === 'audit';
}

function describeSkippedMutation(mutation: Mutation): string {
  return `would set ${mutation.changes.join(', ')}`;
}

function truncateAuditValue(value: string): string {
  return value.length <= MAX_AUDIT_VALUE_LENGTH ? value : `${value.slice(0, MAX_AUDIT_VALUE_LENGTH - 1)}…`;
}
