import type { Mode } from '../admission/mode.ts';
import type { KubeObject, UserInfo } from '../admission/wire.ts';
import type { Policy } from '../policy/evaluate.ts';
import { reviewObject } from '../webhook/review-object.ts';
import type { AuditFinding, ObjectRef, Severity } from './model.ts';

/** What the webhook would do with the finding of a rule in this mode: deny, warn, or record only. */
const SEVERITY_OF_MODE: Readonly<Record<Mode, Severity>> = { enforce: 'error', warn: 'warning', audit: 'info' };

/** The id of a finding about the review itself (an object the review core cannot review). */
export const REVIEW_ID = 'review';

/**
 * The findings of one stored object as if it were created now: each violation with the mode it would
 * get, each mutation the webhook would make. `userInfo` is who the audit says set the object's
 * exemption annotation (an allowed group: a stored exemption was accepted when it was written).
 */
export function reviewFindings(object: KubeObject, ref: ObjectRef, policy: Policy, userInfo: UserInfo): AuditFinding[] {
  const review = reviewObject(object, { operation: 'CREATE', userInfo }, policy);
  if (!review.ok)
    return [
      { ruleId: REVIEW_ID, kind: 'violation', mode: 'warn', severity: 'warning', object: ref, message: review.message },
    ];
  const violations = review.violations.map((violation): AuditFinding => ({
    ruleId: violation.ruleId,
    kind: 'violation',
    mode: violation.mode,
    severity: SEVERITY_OF_MODE[violation.mode],
    object: ref,
    message: violation.message,
  }));
  const mutations = review.mutations.map((mutation): AuditFinding => ({
    ruleId: mutation.ruleId,
    kind: 'mutation',
    mode: mutation.mode,
    severity: mutation.mode === 'audit' ? 'info' : 'warning',
    object: ref,
    message: `would be changed on create: ${mutation.changes.join(', ')} — set these in the manifest`,
  }));
  return [...violations, ...mutations];
}
