import type { Logger } from 'pino';
import type { Endpoint } from '../admission/endpoint.ts';
import type { AdmissionRequest } from '../admission/wire.ts';
import type { ReviewOutcome } from '../webhook/review.ts';

export interface ReviewLogEntry {
  readonly outcome: ReviewOutcome;
  readonly endpoint: Endpoint;
  readonly durationSeconds: number;
}

/**
 * One line per review with the identity of the request and what was decided.
 * Never the object or its values: only names, rule ids and counts.
 */
export function logReview(log: Logger, { outcome, endpoint, durationSeconds }: ReviewLogEntry): void {
  const durationMs = Math.round(durationSeconds * 1e6) / 1e3;
  if (!outcome.ok) {
    const fields = {
      endpoint,
      uid: outcome.review.response?.uid,
      decision: outcome.decision,
      code: outcome.code,
      reason: outcome.message,
      durationMs,
    };
    if (outcome.code >= 500) log.error({ ...fields, err: outcome.cause }, 'admission review failed');
    else log.warn(fields, 'admission review rejected: bad request');
    return;
  }
  const { request, evaluation } = outcome;
  log.info(
    {
      endpoint,
      ...identityOf(request),
      decision: outcome.decision,
      mode: evaluation.scopeMode,
      rules: [...new Set(evaluation.violations.map((violation) => violation.ruleId))],
      mutated: evaluation.mutations.map((mutation) => mutation.ruleId),
      exempted: evaluation.exemptions.map((exemption) => exemption.ruleId),
      durationMs,
    },
    'admission review',
  );
}

/** Who asked for what: the request's identity fields, as controller-runtime logs them. */
function identityOf(request: AdmissionRequest): Record<string, string | boolean> {
  return {
    uid: request.uid,
    kind: `${request.kind.group === '' ? 'core' : request.kind.group}/${request.kind.version}/${request.kind.kind}`,
    namespace: request.namespace ?? '',
    name: logNameOf(request),
    operation: request.operation,
    user: request.userInfo.username ?? '',
    dryRun: request.dryRun === true,
  };
}

/** The request's name, else the object's, else its generateName (a Pod from a ReplicaSet has only that). */
function logNameOf(request: AdmissionRequest): string {
  const metadata = request.object?.metadata;
  return request.name || metadata?.name || metadata?.generateName || '';
}
