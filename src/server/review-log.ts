import type { Logger } from 'pino';
import { decisionOf, type ReviewOutcome } from '../admission/review.ts';
import type { Phase } from '../policy/evaluate.ts';

/**
 * One line per review with the identity of the request and what was decided.
 * Never the object or its values: only names, rule ids and counts.
 */
export function logReview(log: Logger, outcome: ReviewOutcome, phase: Phase, durationSeconds: number): void {
  const durationMs = Math.round(durationSeconds * 1e6) / 1e3;
  if (!outcome.ok) {
    const fields = { endpoint: phase, uid: outcome.review.response?.uid, decision: 'error', code: outcome.code, reason: outcome.message, durationMs };
    if (outcome.code >= 500) log.error({ ...fields, err: outcome.cause }, 'admission review failed');
    else log.warn(fields, 'admission review rejected: bad request');
    return;
  }
  const { request, evaluation } = outcome;
  log.info(
    {
      endpoint: phase,
      uid: request.uid,
      kind: `${request.kind.group === '' ? 'core' : request.kind.group}/${request.kind.version}/${request.kind.kind}`,
      namespace: request.namespace ?? '',
      name: request.name || request.object?.metadata?.name || request.object?.metadata?.generateName || '',
      operation: request.operation,
      user: request.userInfo.username ?? '',
      dryRun: request.dryRun === true,
      decision: decisionOf(outcome),
      mode: evaluation.mode,
      rules: [...new Set(evaluation.violations.map((violation) => violation.ruleId))],
      mutated: evaluation.mutations.map((mutation) => mutation.ruleId),
      exempted: evaluation.exemptions.map((exemption) => exemption.ruleId),
      durationMs,
    },
    'admission review',
  );
}
