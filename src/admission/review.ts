import { decide } from '../policy/decide.ts';
import { evaluate, type Phase, type Policy } from '../policy/evaluate.ts';
import type { Evaluation } from '../policy/evaluation.ts';
import { parseAdmissionReview, type RawReview } from './parse-review.ts';
import { errored, toReview } from './responses.ts';
import type { AdmissionRequest, AdmissionReview } from './wire.ts';

export type ReviewOutcome =
  | { readonly ok: true; readonly review: AdmissionReview; readonly request: AdmissionRequest; readonly evaluation: Evaluation }
  | { readonly ok: false; readonly review: AdmissionReview; readonly code: number; readonly message: string; readonly cause?: unknown };

/**
 * Body in, AdmissionReview out, for /mutate and /validate. Pure: no I/O, and every outcome,
 * bad input and internal failure included, is a well-formed review that echoes the uid it could read.
 */
export function reviewAdmission(raw: RawReview, policy: Policy, phase: Phase): ReviewOutcome {
  const parsed = parseAdmissionReview(raw);
  if (!parsed.ok) {
    return { ok: false, code: parsed.code, message: parsed.message, review: toReview(parsed.apiVersion, errored(parsed.uid, parsed.code, parsed.message)) };
  }
  const { request, apiVersion } = parsed;
  try {
    const evaluation = evaluate(request, policy, phase);
    return { ok: true, request, evaluation, review: toReview(apiVersion, decide(request.uid, evaluation)) };
  } catch (cause: unknown) {
    const message = `internal error while reviewing ${request.kind.kind}; see the dapr-guard logs`;
    return { ok: false, code: 500, message, cause, review: toReview(apiVersion, errored(request.uid, 500, message)) };
  }
}

/** A review for a body that never reached the core (too large, unreadable). */
export function transportErrorReview(code: number, message: string): AdmissionReview {
  return toReview('admission.k8s.io/v1', errored('', code, message));
}

export type Decision = 'allowed' | 'patched' | 'denied' | 'error';

export function decisionOf(outcome: ReviewOutcome): Decision {
  const response = outcome.review.response;
  if (!outcome.ok || response === undefined) return 'error';
  if (!response.allowed) return 'denied';
  return response.patch === undefined ? 'allowed' : 'patched';
}
