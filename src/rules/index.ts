import type { Config } from '../config/config.ts';
import type { Rule } from './rule.ts';
import { SIDECAR_RESOURCES_RULE_ID, sidecarResourcesRule } from './sidecar-resources.ts';
import { SIDECAR_RESOURCE_VALUES_RULE_ID, sidecarResourceValuesRule } from './sidecar-resource-values.ts';
import { API_TOKEN_RULE_ID, apiTokenRule } from './api-token.ts';
import { CONTROL_PLANE_NAMESPACE_RULE_ID, controlPlaneNamespaceRule } from './control-plane-namespace.ts';
import { CONTROL_PLANE_RESOURCES_RULE_ID, controlPlaneResourcesRule } from './control-plane-resources.ts';
import { COMPONENT_PLAINTEXT_SECRETS_RULE_ID, componentPlaintextSecretsRule } from './component-plaintext-secrets.ts';
import { MTLS_ENABLED_RULE_ID, mtlsEnabledRule } from './mtls-enabled.ts';
import { OBSERVABILITY_RULE_ID, observabilityRule } from './observability.ts';

interface RuleFactory {
  readonly id: string;
  readonly create: (config: Config) => Rule;
}

/** Every rule, in the order they run. */
const FACTORIES: readonly RuleFactory[] = [
  { id: SIDECAR_RESOURCES_RULE_ID, create: (config) => sidecarResourcesRule(config.sidecarDefaults) },
  { id: SIDECAR_RESOURCE_VALUES_RULE_ID, create: () => sidecarResourceValuesRule() },
  { id: API_TOKEN_RULE_ID, create: () => apiTokenRule() },
  { id: CONTROL_PLANE_NAMESPACE_RULE_ID, create: () => controlPlaneNamespaceRule() },
  { id: CONTROL_PLANE_RESOURCES_RULE_ID, create: () => controlPlaneResourcesRule() },
  { id: COMPONENT_PLAINTEXT_SECRETS_RULE_ID, create: () => componentPlaintextSecretsRule() },
  { id: MTLS_ENABLED_RULE_ID, create: () => mtlsEnabledRule() },
  { id: OBSERVABILITY_RULE_ID, create: () => observabilityRule() },
];

export const RULE_IDS: readonly string[] = FACTORIES.map((factory) => factory.id);

/** The enabled rules, built with their settings from the configuration. */
export function createRules(config: Config): Rule[] {
  return FACTORIES.filter((factory) => config.rules[factory.id]?.enabled !== false).map((factory) => factory.create(config));
}
