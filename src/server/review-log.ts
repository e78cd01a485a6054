import type { Logger } from 'pino';
import type { Endpoint } from '../admission/endpoint.ts';
import type { Mode } from '../admission/mode.ts';
import type { AdmissionRequest } from '../admission/wire.ts';
import type { Evaluation } from '../policy/evaluation.ts';
import type { ReviewOutcome } from '../webhook/review.ts';

export interface ReviewLogEntry {
  readonly outcome: ReviewOutcome;
  readonly endpoint: Endpoint;
  readonly durationSeconds: number;
}

/**
 * One line per review with the identity of the request and what was decided.
 * Never the object or its values: only names, rule ids and counts. `mutated` lists the rules whose patch
 * was applied (enforce, warn), `wouldMutate` those that changed nothing because they are in audit mode.
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
      mutated: evaluation.mutations.filter((mutation) => mutation.mode !== 'audit').map((mutation) => mutation.ruleId),
      wouldMutate: evaluation.mutations
        .filter((mutation) => mutation.mode === 'audit')
        .map((mutation) => mutation.ruleId),
      ruleModes: ruleModesOf(evaluation),
      exempted: evaluation.exemptions.map((exemption) => exemption.ruleId),
      durationMs,
    },
    'admission review',
  );
}

/**
 * Each rule that found or changed something, with the mode it was handled in (`mode` is the scope's:
 * a rule's own mode can differ, `rules.<id>.mode`).
 */
function ruleModesOf(evaluation: Evaluation): { readonly id: string; readonly mode: Mode }[] {
  const modes = new Map<string, Mode>();
  for (const finding of [...evaluation.violations, ...evaluation.mutations]) {
    if (!modes.has(finding.ruleId)) modes.set(finding.ruleId, finding.mode);
  }
  return [...modes].map(([id, mode]) => ({ id, mode }));
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
