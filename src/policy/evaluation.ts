import type { PatchOperation } from '../admission/json-patch.ts';
import type { Mode } from '../admission/mode.ts';

/** A rule's finding with the mode that applies to it for this object. */
export interface Violation {
  readonly ruleId: string;
  /** `what is wrong — how to fix`, without the `[rule-id]` prefix; never contains a secret value. */
  readonly message: string;
  readonly mode: Mode;
}

/** What a mutating rule changed (or, in audit mode, would have changed). */
export interface Mutation {
  readonly ruleId: string;
  readonly mode: Mode;
  /** Short, value-safe descriptions such as `dapr.io/sidecar-cpu-limit=4`. */
  readonly changes: readonly string[];
}

export interface Exemption {
  readonly ruleId: string;
  readonly reason: string;
}

/** Everything the policy decided about one request, before it becomes an AdmissionResponse. */
export interface Evaluation {
  /**
   * The mode of the request's namespace (its `dapr-guard.io/mode` label, or else the global mode), for
   * logs and metrics: not the mode a rule applied, which is each Violation's and Mutation's own.
   */
  readonly scopeMode: Mode;
  readonly violations: readonly Violation[];
  readonly mutations: readonly Mutation[];
  /** The JSON Patch of the mutations that apply (enforce and warn); empty for audit or validation. */
  readonly patch: readonly PatchOperation[];
  readonly exemptions: readonly Exemption[];
  /** Messages for the user that are not rule violations (for example an exemption without a reason). */
  readonly notices: readonly string[];
}
