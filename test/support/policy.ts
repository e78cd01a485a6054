import type { Policy } from '../../src/policy/evaluate.ts';
import type { Mode } from '../../src/policy/mode.ts';
import type { Rule } from '../../src/rules/rule.ts';

/** A policy for tests: enforce everywhere, no namespace labels, exemptions on for system:masters in every namespace, unless overridden. */
export function testPolicy(rules: readonly Rule[], overrides: Partial<Omit<Policy, 'rules'>> & { namespaceModes?: Record<string, Mode> } = {}): Policy {
  const { namespaceModes, ...rest } = overrides;
  return {
    rules,
    globalMode: 'enforce',
    ruleModes: {},
    exemptions: { enabled: true, allowedGroups: ['system:masters'], namespaces: [] },
    namespaceMode: (namespace) => namespaceModes?.[namespace],
    ...rest,
  };
}
