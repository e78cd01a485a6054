import { MODES, NAMESPACE_MODE_LABEL } from '../admission/mode.ts';
import { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION } from '../policy/exemptions.ts';
import type { Rule } from '../rules/rule.ts';
import { CONFIG_ENV, RULE_MODES_ENV } from './load.ts';
import { OPTIONS, type OptionSpec } from './options.ts';

/** Where docs/rules/<rule-id>.md is published (the chart's `home`). */
export const RULE_DOCS_URL = 'https://github.com/dapr-guard/dapr-guard/blob/main/docs/rules';

/** A subcommand as --help lists it. */
export interface CommandSummary {
  readonly name: string;
  readonly summary: string;
}

/** --help, generated from the option table so that it cannot drift from what is accepted. */
export function helpText(rules: readonly Rule[], commands: readonly CommandSummary[] = []): string {
  const lines = [
    'Usage: dapr-guard [options]',
    ...(commands.length === 0 ? [] : ['       dapr-guard <command> [options] [arguments]']),
    '',
    'Kubernetes admission webhook for the Dapr production guidelines: POST /mutate and /validate',
    '(admission.k8s.io/v1 AdmissionReview), GET /healthz and /readyz over HTTPS; /metrics over HTTP.',
    '',
    ...commandLines(commands),
    'Settings come from (later wins): defaults, the YAML file, environment variables, flags.',
    '',
    'Options:',
    option('-c, --config <file>', `YAML configuration file (env ${CONFIG_ENV}); keys are the dotted paths below.`),
    ...OPTIONS.map(describeOption),
    option(
      '--rule-mode <rule-id>=<mode>',
      `Mode of one rule; repeatable (env ${RULE_MODES_ENV}, comma-separated). YAML: rules.<rule-id>.mode.`,
    ),
    option('-h, --help', 'Show this help.'),
    option('--version', 'Print the version.'),
    '',
    'Rules (YAML: rules.<rule-id>.mode, rules.<rule-id>.enabled; rules.sidecar-resources.defaults.{cpuRequest,cpuLimit,memoryRequest,memoryLimit}):',
    ...rules.map((rule) => option(`${rule.id} (${rule.type}, default ${rule.defaultMode})`, rule.description)),
    `Each rule's page (what it checks, examples, how to fix, how to exempt): ${RULE_DOCS_URL}/<rule-id>.md`,
    '',
    `Namespaces: label ${NAMESPACE_MODE_LABEL}=${MODES.join('|')} sets the mode of one namespace (only exemptions.allowedGroups may set it).`,
    `Objects: annotations ${EXEMPT_ANNOTATION}=<rule-id>[,<rule-id>] and ${EXEMPT_REASON_ANNOTATION}=<why> skip rules, when set by exemptions.allowedGroups.`,
    '',
  ];
  return lines.join('\n');
}

function commandLines(commands: readonly CommandSummary[]): string[] {
  if (commands.length === 0) return [];
  return [
    'Commands (dapr-guard <command> --help for their own flags):',
    ...commands.map((command) => option(command.name, command.summary)),
    '',
  ];
}

function describeOption(spec: OptionSpec): string {
  const flag = spec.flag === undefined ? spec.path : `--${spec.flag} <${placeholder(spec)}>`;
  const sources = [`YAML ${spec.path}`, ...(spec.env === undefined ? [] : [`env ${spec.env}`])].join(', ');
  return option(flag, `${spec.description} Default: ${formatDefault(spec.default)}. (${sources})`);
}

function placeholder(spec: OptionSpec): string {
  switch (spec.type.kind) {
    case 'enum':
      return spec.type.values.join('|');
    case 'integer':
      return 'n';
    case 'boolean':
      return 'true|false';
    case 'list':
      return 'a,b';
    case 'string':
      return 'value';
  }
}

function formatDefault(value: OptionSpec['default']): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  return value === '' ? '(empty)' : String(value);
}

function option(name: string, description: string): string {
  return `  ${name}\n      ${description}`;
}
