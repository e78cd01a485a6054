import { diffAt } from '../admission/json-patch.ts';
import { copyAlongPath } from '../admission/scoped-copy.ts';
import type { AdmissionRequest, KubeObject } from '../admission/wire.ts';
import type { MutableObject, MutatingRule, Rule, RuleContext, ValidatingRule } from '../rules/rule.ts';
import type { Evaluation, Exemption, Mutation, Violation } from './evaluation.ts';
import { readExemptions, type ExemptionRequest } from './exemptions.ts';
import { leastStrict, type Mode } from './mode.ts';
import { resolveMode } from './resolve-mode.ts';

export type Phase = 'mutate' | 'validate';

export interface Policy {
  readonly rules: readonly Rule[];
  readonly globalMode: Mode;
  /** `rules.<id>.mode` from the configuration. */
  readonly ruleModes: Readonly<Partial<Record<string, Mode>>>;
  readonly exemptionsEnabled: boolean;
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
  const rules = policy.rules.filter((rule) => rule.type === (phase === 'mutate' ? 'mutating' : 'validating'));
  const exemptions = readExemptions(request.object, new Set(policy.rules.map((rule) => rule.id)), policy.exemptionsEnabled);
  const applicable = rules.filter((rule) => !exemptions.exemptedRuleIds.has(rule.id));
  const modeOf = (rule: Rule): Mode => ruleModeIn(rule, context.namespace, policy);
  // Both webhooks see an object; tell the user about a bad exemption once, from /validate.
  const notices = phase === 'validate' ? exemptions.notices : [];
  const base = { mode: scopeMode, exemptions: usedExemptions(rules, exemptions), notices };
  if (phase === 'mutate') {
    return { ...base, violations: [], ...runMutations(applicable as MutatingRule[], context, modeOf) };
  }
  return { ...base, violations: runValidations(applicable as ValidatingRule[], context, modeOf), mutations: [], patch: [] };
}

/** DELETE and CONNECT, subresources and objects already being deleted pass without rules. */
function isReviewable(request: AdmissionRequest): boolean {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return false;
  if (request.subResource !== undefined && request.subResource !== '') return false;
  // Refusing an UPDATE of an object that is being deleted would block its finalizers.
  return request.object?.metadata?.['deletionTimestamp'] === undefined;
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
