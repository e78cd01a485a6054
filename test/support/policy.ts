import type { Policy } from '../../src/policy/evaluate.ts';
import type { Mode } from '../../src/policy/mode.ts';
import type { Rule } from '../../src/rules/rule.ts';

/** A policy for tests: enforce everywhere, no namespace labels, exemptions on, unless overridden. */
export function testPolicy(rules: readonly Rule[], overrides: Partial<Omit<Policy, 'rules'>> & { namespaceModes?: Record<string, Mode> } = {}): Policy {
  const { namespaceModes, ...rest } = overrides;
  return {
    rules,
    globalMode: 'enforce',
    ruleModes: {},
    exemptionsEnabled: true,
    namespaceMode: (namespace) => namespaceModes?.[namespace],
    ...rest,
  };
}
