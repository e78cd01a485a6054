import type { Endpoint } from '../admission/endpoint.ts';
import { parseAdmissionReview, type RawReview } from '../admission/parse-review.ts';
import { errored, toReview } from '../admission/responses.ts';
import type { ReviewEcho } from '../admission/sniff-echo.ts';
import type { AdmissionRequest, AdmissionReview } from '../admission/wire.ts';
import { decideReview, type Verdict } from '../policy/decide.ts';
import { evaluate, type Policy } from '../policy/evaluate.ts';
import type { Evaluation } from '../policy/evaluation.ts';

/** The `decision` label of metrics and logs: the verdict of a reviewed request, or `error` when there was none. */
export type Decision = Verdict | 'error';

export type ReviewOutcome =
  | {
      readonly ok: true;
      readonly decision: Verdict;
      readonly review: AdmissionReview;
      readonly request: AdmissionRequest;
      readonly evaluation: Evaluation;
    }
  | {
      readonly ok: false;
      readonly decision: 'error';
      readonly review: AdmissionReview;
      readonly code: number;
      readonly message: string;
      readonly cause?: unknown;
    };

/**
 * Body in, AdmissionReview out, for /mutate and /validate: parse → evaluate → decide → reply. Pure: no
 * I/O, and every outcome, bad input and internal failure included, is a well-formed review that echoes
 * the uid it could read.
 */
export function reviewAdmission(raw: RawReview, policy: Policy, endpoint: Endpoint): ReviewOutcome {
  const parsed = parseAdmissionReview(raw);
  if (!parsed.ok) {
    const review = toReview(parsed.apiVersion, errored(parsed.uid, parsed.code, parsed.message));
    return { ok: false, decision: 'error', code: parsed.code, message: parsed.message, review };
  }
  const { request, apiVersion } = parsed;
  try {
    const evaluation = evaluate(request, policy, endpoint);
    const { verdict, response } = decideReview(request.uid, evaluation);
    return { ok: true, decision: verdict, request, evaluation, review: toReview(apiVersion, response) };
  } catch (cause: unknown) {
    const message = `internal error while reviewing ${request.kind.kind}; see the dapr-guard logs`;
    const review = toReview(apiVersion, errored(request.uid, 500, message));
    return { ok: false, decision: 'error', code: 500, message, cause, review };
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
