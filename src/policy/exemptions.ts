import type { KubeObject } from '../admission/wire.ts';

export const EXEMPT_ANNOTATION = 'dapr-guard.io/exempt';
export const EXEMPT_REASON_ANNOTATION = 'dapr-guard.io/exempt-reason';

export interface ExemptionRequest {
  /** Rule ids exempted for this object, when the exemption is valid and allowed. */
  readonly exemptedRuleIds: ReadonlySet<string>;
  readonly reason: string;
  /** Why an exemption annotation was not honoured, as user-facing messages. */
  readonly notices: readonly string[];
}

const NONE: ExemptionRequest = { exemptedRuleIds: new Set(), reason: '', notices: [] };

/**
 * Reads `dapr-guard.io/exempt: <rule-id>[,<rule-id>]`. It counts only with a non-empty
 * `dapr-guard.io/exempt-reason` and when the operator allows exemptions.
 */
export function readExemptions(
  object: KubeObject | undefined,
  knownRuleIds: ReadonlySet<string>,
  exemptionsEnabled: boolean,
): ExemptionRequest {
  const annotations = object?.metadata?.annotations;
  const listed = annotations?.[EXEMPT_ANNOTATION];
  if (typeof listed !== 'string' || listed.trim() === '') return NONE;
  if (!exemptionsEnabled) {
    return { ...NONE, notices: [`[exemptions] ${EXEMPT_ANNOTATION} is ignored: exemptions are turned off in this cluster`] };
  }
  const reason = annotations?.[EXEMPT_REASON_ANNOTATION];
  if (typeof reason !== 'string' || reason.trim() === '') {
    return {
      ...NONE,
      notices: [`[exemptions] ${EXEMPT_ANNOTATION} is ignored — add ${EXEMPT_REASON_ANNOTATION} saying why the object is exempt`],
    };
  }
  const ruleIds = listed.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const unknown = ruleIds.filter((id) => !knownRuleIds.has(id));
  return {
    exemptedRuleIds: new Set(ruleIds.filter((id) => knownRuleIds.has(id))),
    reason: reason.trim(),
    notices: unknown.map((id) => `[exemptions] ${EXEMPT_ANNOTATION} names unknown rule "${id.slice(0, 63)}"; it has no effect`),
  };
}
