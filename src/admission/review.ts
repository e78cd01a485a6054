import { decide } from '../policy/decide.ts';
import { evaluate, type Phase, type Policy } from '../policy/evaluate.ts';
import type { Evaluation } from '../policy/evaluation.ts';
import { parseAdmissionReview, type RawReview } from './parse-review.ts';
import { errored, toReview } from './responses.ts';
import type { ReviewEcho } from './sniff-echo.ts';
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

/**
 * A review for a body that never reached the core (too large, unreadable, refused, timed out), in the
 * request's apiVersion and with its uid as far as they could be read: a reply with another uid is not
 * a decision to the API server, which then applies the webhook's failurePolicy.
 */
export function transportErrorReview(code: number, message: string, echo: ReviewEcho): AdmissionReview {
  return toReview(echo.apiVersion, errored(echo.uid, code, message));
}

export type Decision = 'allowed' | 'patched' | 'denied' | 'error';

export function decisionOf(outcome: ReviewOutcome): Decision {
  const response = outcome.review.response;
  if (!outcome.ok || response === undefined) return 'error';
  if (!response.allowed) return 'denied';
  return response.patch === undefined ? 'allowed' : 'patched';
}
