import type { Mode } from '../../src/admission/mode.ts';
import { createPolicy, type Policy, type PolicyInputs } from '../../src/policy/evaluate.ts';
import type { Rule } from '../../src/rules/rule.ts';

/** A policy for tests: enforce everywhere, no namespace labels, exemptions on for system:masters in every namespace, unless overridden. */
export function testPolicy(
  rules: readonly Rule[],
  overrides: Partial<Omit<PolicyInputs, 'rules'>> & { namespaceModes?: Record<string, Mode> } = {},
): Policy {
  const { namespaceModes, ...rest } = overrides;
  return createPolicy({
    rules,
    globalMode: 'enforce',
    ruleModes: {},
    exemptions: { enabled: true, allowedGroups: ['system:masters'], namespaces: [] },
    namespaceMode: (namespace) => namespaceModes?.[namespace],
    ...rest,
  });
}
