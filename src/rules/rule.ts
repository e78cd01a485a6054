import type { AdmissionRequest, KubeObject } from '../admission/wire.ts';
import type { Mode } from '../admission/mode.ts';

/** A rule's own settings: the keys of `rules.<id>` besides mode and enabled, as configured; the rule checks them. */
export type RuleOptions = Readonly<Record<string, unknown>>;

/** What a rule sees: the request, its object (present on CREATE and UPDATE) and the object's namespace. */
export interface RuleContext {
  readonly request: AdmissionRequest;
  readonly object: KubeObject;
  /** The stored object on UPDATE. */
  readonly oldObject: KubeObject | undefined;
  /** `request.namespace`, which the API server sets even when the object omits it; undefined when cluster-scoped. */
  readonly namespace: string | undefined;
}

/** One thing a validating rule found. */
export interface Finding {
  /** `what is wrong — how to fix`, short enough for a kubectl warning; never quotes a secret value. */
  readonly message: string;
  /**
   * The strictest mode this finding may get, for findings that are advice even when the rule
   * enforces (an empty plaintext value is not a leak): 'warn' caps enforce to warn.
   */
  readonly maxMode?: Mode;
}

interface RuleBase {
  /** Stable id: used in messages, config keys, exemptions, metrics and audit annotations. */
  readonly id: string;
  /** One line for --help, the README and the chart's values. */
  readonly description: string;
  /** The mode when the configuration names none for this rule. */
  readonly defaultMode: Mode;
  /**
   * The kinds (names) of the objects this rule can find something in: a report lists the rule for an
   * object only when its kind is here. The rule still checks the API group itself.
   */
  readonly kinds: readonly string[];
}

export interface ValidatingRule extends RuleBase {
  readonly type: 'validating';
  validate(context: RuleContext): readonly Finding[];
}

/** A JSON object the mutating rule may change in place: the core hands it a deep copy. */
export type MutableObject = Record<string, unknown>;

export interface MutatingRule extends RuleBase {
  readonly type: 'mutating';
  /**
   * Where in the object this rule may write (`['spec', 'template', 'metadata', 'annotations']`), or
   * undefined when it has nothing to do for this object. The core then copies and diffs only that part,
   * which keeps a review of a large object cheap. A rule without `scope` gets a deep copy of the whole object.
   */
  scope?(object: MutableObject, context: RuleContext): readonly string[] | undefined;
  /**
   * `context.object` stays the request's object for every mutating rule: a rule reads the result of the
   * rules before it from `copy`, never from `context.object`.
   * Changes `copy` (a copy of the request object, deep within `scope`) in place and describes each change
   * (`dapr.io/sidecar-cpu-limit=4`); returns [] when nothing needed changing.
   */
  mutate(copy: MutableObject, context: RuleContext): readonly string[];
}

export type Rule = ValidatingRule | MutatingRule;
