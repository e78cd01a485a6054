import { encodePatch } from '../admission/json-patch.ts';
import { denied, patched, withAuditAnnotations, withWarnings } from '../admission/responses.ts';
import { MAX_WARNING_LENGTH, type AdmissionResponse } from '../admission/wire.ts';
import { cut } from '../util/text.ts';
import type { Evaluation, Mutation, Violation } from './evaluation.ts';

/** Audit annotation values end up in every audit event of the request; keep them readable. */
const MAX_AUDIT_VALUE_LENGTH = 1024;

/** What the response says, for metrics and logs: it is decided here, never read back from the response. */
export type Verdict = 'allowed' | 'patched' | 'denied';

export interface Decided {
  readonly verdict: Verdict;
  readonly response: AdmissionResponse;
}

/**
 * The one place where modes become a response.
 * enforce: deny (403) with every enforced message; warn: allow with one warning per violation, and a
 * warning per mutation that says what was added (the patch still applies: kubectl shows it); audit: allow with no warning for the violation and no patch, recording what would have happened in
 * auditAnnotations. Notices (an exemption that does not count, for example) are warnings in every mode.
 */
export function decideReview(uid: string, evaluation: Evaluation): Decided {
  const enforced = evaluation.violations.filter((violation) => violation.mode === 'enforce');
  const warned = evaluation.violations.filter((violation) => violation.mode === 'warn');
  const patch = encodePatch(evaluation.patch);
  const verdict: Verdict = enforced.length > 0 ? 'denied' : patch === undefined ? 'allowed' : 'patched';
  const base = verdict === 'denied' ? denied(uid, enforced.map(formatMessage).join('\n')) : patched(uid, patch);
  const added = evaluation.mutations.filter((mutation) => mutation.mode === 'warn').map(describeAppliedMutation);
  const warnings = [...warned.map(formatMessage), ...added, ...evaluation.notices].map((warning) =>
    cut(warning, MAX_WARNING_LENGTH),
  );
  return { verdict, response: withAuditAnnotations(withWarnings(base, warnings), auditAnnotations(evaluation)) };
}

/** The response alone (see decideReview). */
export function decide(uid: string, evaluation: Evaluation): AdmissionResponse {
  return decideReview(uid, evaluation).response;
}

/** `[rule-id] what is wrong — how to fix` */
export function formatMessage(violation: Pick<Violation, 'ruleId' | 'message'>): string {
  return `[${violation.ruleId}] ${violation.message}`;
}

/**
 * Keys are bare rule ids: the API server stores them as `<webhook name>/<rule-id>`
 * (for example `validate.dapr-guard.io/mtls-enabled`) and drops keys that already contain `/`.
 */
function auditAnnotations(evaluation: Evaluation): Record<string, string> {
  if (
    evaluation.exemptions.length === 0 &&
    !evaluation.violations.some(isAudited) &&
    !evaluation.mutations.some(isAudited)
  )
    return {};
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
  return Object.fromEntries([...grouped].map(([key, values]) => [key, cut(values.join('; '), MAX_AUDIT_VALUE_LENGTH)]));
}

function isAudited(finding: { readonly mode: string }): boolean {
  return finding.mode === 'audit';
}

/** `[sidecar-resources] added dapr.io/sidecar-cpu-limit=4, …`: the changes are the rule's own values. */
function describeAppliedMutation(mutation: Mutation): string {
  return formatMessage({ ruleId: mutation.ruleId, message: `added ${mutation.changes.join(', ')}` });
}

function describeSkippedMutation(mutation: Mutation): string {
  return `would set ${mutation.changes.join(', ')}`;
}
