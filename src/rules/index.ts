import type { Rule, RuleOptions } from './rule.ts';
import { DEFAULT_GUIDELINES, type Guidelines } from './support/guidelines.ts';
import {
  readSidecarResourcesOptions,
  SIDECAR_RESOURCES_OPTION_KEYS,
  SIDECAR_RESOURCES_RULE_ID,
  sidecarResourcesRule,
} from './sidecar-resources.ts';
import { SIDECAR_RESOURCE_VALUES_RULE_ID, sidecarResourceValuesRule } from './sidecar-resource-values.ts';
import { API_TOKEN_RULE_ID, apiTokenRule } from './api-token.ts';
import { CONTROL_PLANE_NAMESPACE_RULE_ID, controlPlaneNamespaceRule } from './control-plane-namespace.ts';
import { CONTROL_PLANE_RESOURCES_RULE_ID, controlPlaneResourcesRule } from './control-plane-resources.ts';
import { COMPONENT_PLAINTEXT_SECRETS_RULE_ID, componentPlaintextSecretsRule } from './component-plaintext-secrets.ts';
import { MTLS_ENABLED_RULE_ID, mtlsEnabledRule } from './mtls-enabled.ts';
import { OBSERVABILITY_RULE_ID, observabilityRule } from './observability.ts';
import { TRUST_BUNDLE_PRESERVED_RULE_ID, trustBundlePreservedRule } from './trust-bundle-preserved.ts';
import { SIDECAR_RESOURCES_APPLIED_RULE_ID, sidecarResourcesAppliedRule } from './sidecar-resources-applied.ts';

/** One rule's settings: whether it runs, and its own options (its mode is the policy's business). */
export interface RuleSettings {
  readonly enabled: boolean;
  readonly options: RuleOptions;
}

interface RuleFactory {
  readonly id: string;
  /** The rule's own keys under `rules.<id>`, besides mode and enabled. */
  readonly optionKeys: readonly string[];
  /** What is wrong with the options (over the guidelines' values), each naming its key under `rules.<id>`. */
  readonly optionProblems: (options: RuleOptions, guidelines: Guidelines) => readonly string[];
  /** The rule, from its options and the edition of the guidelines chosen (`guidelines`). */
  readonly create: (options: RuleOptions, guidelines: Guidelines) => Rule;
}

const WITHOUT_OPTIONS = { optionKeys: [], optionProblems: () => [] } as const;

/** Every rule, in the order they run. */
const FACTORIES: readonly RuleFactory[] = [
  {
    id: SIDECAR_RESOURCES_RULE_ID,
    optionKeys: SIDECAR_RESOURCES_OPTION_KEYS,
    optionProblems: (options, guidelines) => readSidecarResourcesOptions(options, guidelines).problems,
    create: (options, guidelines) => {
      const settings = readSidecarResourcesOptions(options, guidelines);
      return sidecarResourcesRule(settings.defaults, settings.goMemLimit);
    },
  },
  { id: SIDECAR_RESOURCE_VALUES_RULE_ID, ...WITHOUT_OPTIONS, create: () => sidecarResourceValuesRule() },
  { id: SIDECAR_RESOURCES_APPLIED_RULE_ID, ...WITHOUT_OPTIONS, create: () => sidecarResourcesAppliedRule() },
  { id: API_TOKEN_RULE_ID, ...WITHOUT_OPTIONS, create: () => apiTokenRule() },
  { id: CONTROL_PLANE_NAMESPACE_RULE_ID, ...WITHOUT_OPTIONS, create: () => controlPlaneNamespaceRule() },
  {
    id: CONTROL_PLANE_RESOURCES_RULE_ID,
    ...WITHOUT_OPTIONS,
    create: (_options, guidelines) => controlPlaneResourcesRule(guidelines),
  },
  { id: COMPONENT_PLAINTEXT_SECRETS_RULE_ID, ...WITHOUT_OPTIONS, create: () => componentPlaintextSecretsRule() },
  { id: MTLS_ENABLED_RULE_ID, ...WITHOUT_OPTIONS, create: () => mtlsEnabledRule() },
  { id: OBSERVABILITY_RULE_ID, ...WITHOUT_OPTIONS, create: () => observabilityRule() },
  { id: TRUST_BUNDLE_PRESERVED_RULE_ID, ...WITHOUT_OPTIONS, create: () => trustBundlePreservedRule() },
];

export const RULE_IDS: readonly string[] = FACTORIES.map((factory) => factory.id);

/** The keys a rule accepts under `rules.<id>` besides mode and enabled; [] for an unknown id. */
export function ruleOptionKeys(id: string): readonly string[] {
  return FACTORIES.find((factory) => factory.id === id)?.optionKeys ?? [];
}

/** What is wrong with a rule's options, each problem naming its key under `rules.<id>`. */
export function ruleOptionProblems(
  id: string,
  options: RuleOptions,
  guidelines: Guidelines = DEFAULT_GUIDELINES,
): readonly string[] {
  return FACTORIES.find((factory) => factory.id === id)?.optionProblems(options, guidelines) ?? [];
}

/**
 * The enabled rules, each built from its own options over the values of `guidelines`; a rule missing
 * from `settings` runs with its defaults.
 */
export function createRules(
  settings: Readonly<Record<string, RuleSettings>>,
  guidelines: Guidelines = DEFAULT_GUIDELINES,
): Rule[] {
  return FACTORIES.filter((factory) => settings[factory.id]?.enabled !== false).map((factory) =>
    factory.create(settings[factory.id]?.options ?? {}, guidelines),
  );
}
