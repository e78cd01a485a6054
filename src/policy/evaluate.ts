import { diffAt } from '../admission/json-patch.ts';
import { copyAlongPath } from '../admission/scoped-copy.ts';
import type { AdmissionRequest, KubeObject } from '../admission/wire.ts';
import type { MutableObject, MutatingRule, Rule, RuleContext, ValidatingRule } from '../rules/rule.ts';
import type { Evaluation, Exemption, Mutation, Violation } from './evaluation.ts';
import type { ExemptionSettings } from './exemption-access.ts';
import { EXEMPTIONS_ID, readExemptions, templateExemptionFindings, type ExemptionRequest } from './exemptions.ts';
import { leastStrict, type Mode } from './mode.ts';
import { isNamespaceRequest, NAMESPACE_LABELS_ID, namespaceLabelFindings } from './namespace-labels.ts';
import { resolveMode } from './resolve-mode.ts';

export type Phase = 'mutate' | 'validate';

export interface Policy {
  readonly rules: readonly Rule[];
  readonly globalMode: Mode;
  /** `rules.<id>.mode` from the configuration. */
  readonly ruleModes: Readonly<Partial<Record<string, Mode>>>;
  /** Whether exemptions count, where, and who may set them and the namespace labels. */
  readonly exemptions: ExemptionSettings;
  /** The `dapr-guard.io/mode` label of a namespace, when the namespace cache knows it. */
  readonly namespaceMode: (namespace: string) => Mode | undefined;
}

/**
 * The admission decision, as data: which rules found what, in which mode, and the patch.
 * Pure: everything it needs is in the request and the policy.
 */
export function evaluate(request: AdmissionRequest, policy: Policy, phase: Phase): Evaluation {
  const context = ruleContext(request);
  const scopeMode = scopeModeOf(context.namespace, policy);
  if (!isReviewable(request)) return emptyEvaluation(scopeMode);
  if (isNamespaceRequest(request)) return namespaceEvaluation(request, policy, phase);
  const rules = policy.rules.filter((rule) => rule.type === (phase === 'mutate' ? 'mutating' : 'validating'));
  const exemptions = readExemptions(request, new Set(policy.rules.map((rule) => rule.id)), policy.exemptions, context.namespace);
  const applicable = rules.filter((rule) => !exemptions.exemptedRuleIds.has(rule.id));
  const modeOf = (rule: Rule): Mode => ruleModeIn(rule, context.namespace, policy);
  // Both webhooks see an object; tell the user about a bad exemption once, from /validate.
  const notices = phase === 'validate' ? exemptions.notices : [];
  const base = { mode: scopeMode, exemptions: usedExemptions(rules, exemptions), notices };
  if (phase === 'mutate') {
    return { ...base, violations: [], ...runMutations(applicable as MutatingRule[], context, modeOf) };
  }
  const guarded = guardViolations(templateExemptionFindings(request, policy.exemptions, context.namespace), EXEMPTIONS_ID, scopeMode);
  return { ...base, violations: [...guarded, ...runValidations(applicable as ValidatingRule[], context, modeOf)], mutations: [], patch: [] };
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
function namespaceEvaluation(request: AdmissionRequest, policy: Policy, phase: Phase): Evaluation {
  const findings = phase === 'validate' ? namespaceLabelFindings(request, policy.exemptions.allowedGroups) : [];
  return { ...emptyEvaluation(policy.globalMode), violations: guardViolations(findings, NAMESPACE_LABELS_ID, policy.globalMode) };
}

function guardViolations(messages: readonly string[], ruleId: string, mode: Mode): Violation[] {
  return messages.map((message) => ({ ruleId, message, mode }));
}

function ruleContext(request: AdmissionRequest): RuleContext {
  const object: KubeObject = request.object ?? {};
  const namespace = nonEmpty(request.namespace) ?? nonEmpty(object.metadata?.namespace);
  return { request, object, oldObject: request.oldObject, namespace };
}

function scopeModeOf(namespace: string | undefined, policy: Policy): Mode {
  return (namespace === undefined ? undefined : policy.namespaceMode(namespace)) ?? policy.globalMode;
}

function ruleModeIn(rule: Rule, namespace: string | undefined, policy: Policy): Mode {
  return resolveMode({
    globalMode: policy.globalMode,
    configuredRuleMode: policy.ruleModes[rule.id],
    ruleDefaultMode: rule.defaultMode,
    namespaceMode: namespace === undefined ? undefined : policy.namespaceMode(namespace),
  });
}

function runValidations(rules: readonly ValidatingRule[], context: RuleContext, modeOf: (rule: Rule) => Mode): Violation[] {
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
  const unique = parts.filter((part, index) => parts.findIndex((other) => other.join('\0') === part.join('\0')) === index);
  return unique.filter((part) => !unique.some((other) => other !== part && other.length < part.length && isInside(part, other)));
}

function usedExemptions(rules: readonly Rule[], exemptions: ExemptionRequest): Exemption[] {
  return rules
    .filter((rule) => exemptions.exemptedRuleIds.has(rule.id))
    .map((rule) => ({ ruleId: rule.id, reason: exemptions.reason }));
}

function emptyEvaluation(mode: Mode): Evaluation {
  return { mode, violations: [], mutations: [], patch: [], exemptions: [], notices: [] };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
