import { diffAt } from '../admission/json-patch.ts';
import { copyAlongPath } from '../admission/scoped-copy.ts';
import type { Endpoint } from '../admission/endpoint.ts';
import type { AdmissionRequest, KubeObject } from '../admission/wire.ts';
import type { MutableObject, MutatingRule, Rule, RuleContext, ValidatingRule } from '../rules/rule.ts';
import type { Evaluation, Exemption, Mutation, Violation } from './evaluation.ts';
import type { ExemptionSettings } from './exemption-access.ts';
import { EXEMPTIONS_ID, readExemptions, templateExemptionFindings, type ExemptionRequest } from './exemptions.ts';
import { leastStrict, type Mode } from '../admission/mode.ts';
import { isNamespaceRequest, NAMESPACE_LABELS_ID, namespaceLabelFindings } from './namespace-labels.ts';
import { resolveMode } from './resolve-mode.ts';
import { nonEmpty } from '../util/json.ts';

/** What a policy is made of: the enabled rules and the operator's settings. */
export interface PolicyInputs {
  readonly rules: readonly Rule[];
  readonly globalMode: Mode;
  /** `rules.<id>.mode` from the configuration. */
  readonly ruleModes: Readonly<Partial<Record<string, Mode>>>;
  /** Whether exemptions count, where, and who may set them and the namespace labels. */
  readonly exemptions: ExemptionSettings;
  /** The `dapr-guard.io/mode` label of a namespace, when the namespace cache knows it. */
  readonly namespaceMode: (namespace: string) => Mode | undefined;
}

/** The inputs plus what every review needs from them, computed once per policy instead of per review. */
export interface Policy extends PolicyInputs {
  /** The rules that run on each endpoint: the mutating ones on /mutate, the validating ones on /validate. */
  readonly rulesFor: Readonly<Record<Endpoint, readonly Rule[]>>;
  /** Every enabled rule's id: an exemption naming another id is reported as unknown. */
  readonly ruleIds: ReadonlySet<string>;
}

export function createPolicy(inputs: PolicyInputs): Policy {
  return {
    ...inputs,
    rulesFor: {
      mutate: inputs.rules.filter((rule) => rule.type === 'mutating'),
      validate: inputs.rules.filter((rule) => rule.type === 'validating'),
    },
    ruleIds: new Set(inputs.rules.map((rule) => rule.id)),
  };
}

/**
 * The admission decision, as data: which rules found what, in which mode, and the patch.
 * Pure: everything it needs is in the request and the policy.
 */
export function evaluate(request: AdmissionRequest, policy: Policy, endpoint: Endpoint): Evaluation {
  const context = ruleContext(request);
  // The namespace's label, read once per review: the scope mode and every rule's mode derive from it.
  const namespaceMode = context.namespace === undefined ? undefined : policy.namespaceMode(context.namespace);
  const scopeMode = namespaceMode ?? policy.globalMode;
  if (!isReviewable(request)) return emptyEvaluation(scopeMode);
  if (isNamespaceRequest(request)) return namespaceEvaluation(request, policy, endpoint);
  const rules = policy.rulesFor[endpoint];
  const exemptions = readExemptions(request, policy.ruleIds, policy.exemptions, context.namespace);
  const applicable = rules.filter((rule) => !exemptions.exemptedRuleIds.has(rule.id));
  const modeOf = (rule: Rule): Mode => ruleModeIn(rule, namespaceMode, policy);
  // Both webhooks see an object; tell the user about a bad exemption once, from /validate.
  const notices = endpoint === 'validate' ? exemptions.notices : [];
  const base = { scopeMode, exemptions: usedExemptions(rules, exemptions), notices };
  if (endpoint === 'mutate') {
    return { ...base, violations: [], ...runMutations(applicable as MutatingRule[], context, modeOf) };
  }
  const guarded = guardViolations(
    templateExemptionFindings(request, policy.exemptions, context.namespace),
    EXEMPTIONS_ID,
    scopeMode,
  );
  return {
    ...base,
    violations: [...guarded, ...runValidations(applicable as ValidatingRule[], context, modeOf)],
    mutations: [],
    patch: [],
  };
}

/**
 * DELETE and CONNECT, subresources and UPDATEs of objects already being deleted pass without rules.
 * A CREATE is reviewed whatever deletionTimestamp it carries: the API server clears the field only
 * after mutating admission, so honouring it would store the object without the mutating rules' defaults.
 */
function isReviewable(request: AdmissionRequest): boolean {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return false;
  if (typeof request.subResource === 'string' && request.subResource !== '') return false;
  // Refusing an UPDATE of an object that is being deleted would block its finalizers.
  return request.operation === 'CREATE' || request.object?.metadata?.['deletionTimestamp'] === undefined;
}

/**
 * A Namespace is checked only by the label guard, on /validate, in the global mode: its own
 * dapr-guard.io/mode label is what is being changed.
 */
function namespaceEvaluation(request: AdmissionRequest, policy: Policy, endpoint: Endpoint): Evaluation {
  const findings = endpoint === 'validate' ? namespaceLabelFindings(request, policy.exemptions.allowedGroups) : [];
  return {
    ...emptyEvaluation(policy.globalMode),
    violations: guardViolations(findings, NAMESPACE_LABELS_ID, policy.globalMode),
  };
}

function guardViolations(messages: readonly string[], ruleId: string, mode: Mode): Violation[] {
  return messages.map((message) => ({ ruleId, message, mode }));
}

function ruleContext(request: AdmissionRequest): RuleContext {
  const object: KubeObject = request.object ?? {};
  const namespace = nonEmpty(request.namespace) ?? nonEmpty(object.metadata?.namespace);
  return { request, object, oldObject: request.oldObject, namespace };
}

function ruleModeIn(rule: Rule, namespaceMode: Mode | undefined, policy: Policy): Mode {
  return resolveMode({
    globalMode: policy.globalMode,
    configuredRuleMode: policy.ruleModes[rule.id],
    ruleDefaultMode: rule.defaultMode,
    namespaceMode,
  });
}

function runValidations(
  rules: readonly ValidatingRule[],
  context: RuleContext,
  modeOf: (rule: Rule) => Mode,
): Violation[] {
  return rules.flatMap((rule) => {
    const mode = modeOf(rule);
    return rule.validate(context).map((finding) => ({
      ruleId: rule.id,
      message: finding.message,
      mode: finding.maxMode === undefined ? mode : leastStrict(mode, finding.maxMode),
    }));
  });
}

/**
 * Each mutating rule works on a copy of the result so far (deep within the part it may change); an
 * audit-mode rule's copy is thrown away and only described. The patch is the diff of the final copy
 * against the request object, over the parts that the rules copied.
 */
function runMutations(
  rules: readonly MutatingRule[],
  context: RuleContext,
  modeOf: (rule: Rule) => Mode,
): Pick<Evaluation, 'mutations' | 'patch'> {
  const original = context.object as MutableObject;
  let current = original;
  const changedParts: (readonly string[])[] = [];
  const mutations: Mutation[] = [];
  for (const rule of rules) {
    const scope = rule.scope === undefined ? [] : rule.scope(current, context);
    if (scope === undefined) continue;
    const { copy, anchor } = copyAlongPath(current, scope);
    const changes = rule.mutate(copy, context);
    if (changes.length === 0) continue;
    const mode = modeOf(rule);
    mutations.push({ ruleId: rule.id, mode, changes });
    if (mode === 'audit') continue;
    current = copy;
    changedParts.push(anchor);
  }
  return { mutations, patch: outermost(changedParts).flatMap((part) => diffAt(original, current, part)) };
}

/** The parts that are not inside another part, so that no change is diffed twice. */
function outermost(parts: readonly (readonly string[])[]): (readonly string[])[] {
  const isInside = (inner: readonly string[], outer: readonly string[]): boolean =>
    inner.length >= outer.length && outer.every((key, index) => inner[index] === key);
  const unique = parts.filter(
    (part, index) => parts.findIndex((other) => other.join('\0') === part.join('\0')) === index,
  );
  return unique.filter(
    (part) => !unique.some((other) => other !== part && other.length < part.length && isInside(part, other)),
  );
}

function usedExemptions(rules: readonly Rule[], exemptions: ExemptionRequest): Exemption[] {
  return rules
    .filter((rule) => exemptions.exemptedRuleIds.has(rule.id))
    .map((rule) => ({ ruleId: rule.id, reason: exemptions.reason }));
}

function emptyEvaluation(scopeMode: Mode): Evaluation {
  return { scopeMode, violations: [], mutations: [], patch: [], exemptions: [], notices: [] };
}
