import type { Config } from '../config/config.ts';
import type { Rule } from './rule.ts';
import { SIDECAR_RESOURCES_RULE_ID, sidecarResourcesRule } from './sidecar-resources.ts';

interface RuleFactory {
  readonly id: string;
  readonly create: (config: Config) => Rule;
}

/** Every rule, in the order they run. */
const FACTORIES: readonly RuleFactory[] = [
  { id: SIDECAR_RESOURCES_RULE_ID, create: (config) => sidecarResourcesRule(config.sidecarDefaults) },
];

export const RULE_IDS: readonly string[] = FACTORIES.map((factory) => factory.id);

/** The enabled rules, built with their settings from the configuration. */
export function createRules(config: Config): Rule[] {
  return FACTORIES.filter((factory) => config.rules[factory.id]?.enabled !== false).map((factory) => factory.create(config));
}
