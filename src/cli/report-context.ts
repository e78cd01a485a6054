import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.ts';
import { RULE_DOCS_URL } from '../config/help.ts';
import { configuredRules } from '../config/policy.ts';
import { EXEMPTIONS_ID } from '../policy/exemptions.ts';
import { NAMESPACE_LABELS_ID } from '../policy/namespace-labels.ts';
import type { RuleDescriptor } from '../report/model.ts';

/** What every subcommand's report says about the rules: the configured ones and the policy's own checks. */
export function ruleDescriptorsOf(config: Config): RuleDescriptor[] {
  const rules = configuredRules(config).map((rule): RuleDescriptor => ({
    id: rule.id,
    type: rule.type,
    description: rule.description,
    defaultMode: rule.defaultMode,
    helpUri: `${RULE_DOCS_URL}/${rule.id}.md`,
    kinds: rule.kinds,
  }));
  return [...rules, ...POLICY_CHECKS];
}

const POLICY_CHECKS: readonly RuleDescriptor[] = [
  {
    id: EXEMPTIONS_ID,
    type: 'policy',
    description:
      'dapr-guard.io/exempt annotations: who may set them, with a reason, and not on pod templates (the controller would copy them).',
    defaultMode: 'enforce',
    helpUri: `${RULE_DOCS_URL}/README.md`,
  },
  {
    id: NAMESPACE_LABELS_ID,
    type: 'policy',
    description:
      'The dapr-guard.io/mode and dapr-guard.io/ignore namespace labels: only exemptions.allowedGroups may set them.',
    defaultMode: 'enforce',
    helpUri: `${RULE_DOCS_URL}/README.md`,
  },
];

/** The version in package.json, for the report's tool field. */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
