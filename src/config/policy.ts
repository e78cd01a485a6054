import type { Mode } from '../admission/mode.ts';
import { createPolicy, type Policy } from '../policy/evaluate.ts';
import { createRules, type RuleSettings } from '../rules/index.ts';
import type { Rule } from '../rules/rule.ts';
import type { Config } from './config.ts';

/** What the rule registry needs from the configuration: per rule, whether it runs and its own options. */
export function ruleSettingsOf(config: Config): Record<string, RuleSettings> {
  return Object.fromEntries(
    Object.entries(config.rules).map(([id, settings]) => [
      id,
      { enabled: settings.enabled, options: config.ruleOptions[id] ?? {} },
    ]),
  );
}

/** The enabled rules, built with their settings from the configuration. */
export function configuredRules(config: Config): Rule[] {
  return createRules(ruleSettingsOf(config), config.guidelines);
}

/** The policy the configuration describes; `namespaceMode` reads a namespace's `dapr-guard.io/mode` label. */
export function policyOf(config: Config, namespaceMode: (namespace: string) => Mode | undefined): Policy {
  const ruleModes = Object.fromEntries(
    Object.entries(config.rules).flatMap(([id, settings]) =>
      settings.mode === undefined ? [] : [[id, settings.mode]],
    ),
  );
  return createPolicy({
    rules: configuredRules(config),
    globalMode: config.mode,
    ruleModes,
    exemptions: config.exemptions,
    namespaceMode,
  });
}
